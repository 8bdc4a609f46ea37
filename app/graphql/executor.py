"""A lean executor for query operations on generated schemas.

graphql-core 3.3's executor spends ~6-8 µs on every resolved field (resolve
info, path objects, incremental-delivery and abort bookkeeping); a traversal of a
thousand objects resolves several thousand fields. This executor implements the
same GraphQL execution semantics for plain queries with less per-field work:

- fields are collected once per (selection, object type) per request, arguments
  coerced once per field node, and one resolve info is shared by every object of
  a field (resolvers of generated schemas read `info.context` only);
- it runs breadth first: every async field found while completing one wave is
  awaited together, so DataLoaders see a whole level at once (one batched store
  call per hop, as with graphql-core);
- errors are located (message, locations, path) and nulls propagate to the
  nearest nullable parent exactly as the specification says.

Operations it does not take (mutations, subscriptions, introspection, @defer and
@stream) run on graphql-core's executor; a test compares both on the same
queries (tests/graphql/test_lean_executor.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    is_abstract_type,
    is_leaf_type,
    located_error,
)
from graphql.execution.values import VariableValues
from strawberry.execution import optimized_is_awaitable

from app.graphql.planning import DocumentPlans, Info, Plan, Planner, takes

__all__ = ["Execution", "takes"]


@dataclass(slots=True)
class Slot:
    """Where a composite value sits: nulls propagate up this chain."""

    container: Any  # dict or list
    key: str | int
    nullable: bool
    parent: Slot | None
    # Nulled by a non-null child: nothing under it is reported any more (as
    # graphql-core does, the first error of a nulled subtree is the one kept).
    dead: bool = False

    def alive(self) -> bool:
        slot: Slot | None = self
        while slot is not None:
            if slot.dead:
                return False
            slot = slot.parent
        return True

    def path(self) -> list[str | int]:
        keys: list[str | int] = []
        slot: Slot | None = self
        while slot is not None and slot.parent is not None:
            keys.append(slot.key)
            slot = slot.parent
        return keys[::-1]


_PLAIN = (str, int, float, bool)


class _Null(Exception):
    """A non-null position got null: its nearest nullable parent becomes null."""


@dataclass(slots=True)
class _Pending:
    awaitable: Any
    kind: GraphQLOutputType
    nodes: list[FieldNode]
    container: Any
    key: str | int
    owner: Slot
    info: Info


@dataclass(slots=True)
class _Batch:
    """The objects of one wave whose field `plan` has a batch resolver: resolved
    by one call for all of them (see schema/batching.py)."""

    plan: Plan
    sources: list[Any]
    places: list[tuple[dict[str, Any], Slot]]  # per source: its object and slot

    async def resolve(self) -> list[Any]:
        plan = self.plan
        values = await plan.batch(self.sources, plan.info, **(plan.args or {}))
        if len(values) != len(self.sources):
            raise RuntimeError(f"batch resolver of {plan.key} lost values")
        return list(values)


class Execution:
    def __init__(
        self,
        schema: GraphQLSchema,
        shared: DocumentPlans,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        context: Any,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.errors: list[GraphQLError] = []
        self._planner = Planner(schema, shared, operation, variables, context)
        # The batches the wave being built collects objects into, by plan.
        self._open: dict[int, _Batch] = {}

    async def run(self) -> ExecutionResult:
        root_type = self.schema.query_type
        assert root_type is not None  # noqa: S101 - every generated schema has one
        top: dict[str, Any] = {"data": {}}
        root = Slot(top, "data", True, None)
        pending: list[_Pending | _Batch] = []
        try:
            self._object(
                root_type, None, self._planner.shared.root, top["data"], root, pending
            )
        except _Null:
            root.dead = True
            top["data"] = None
        while pending:
            pending = await self._wave(pending)
        return ExecutionResult(top["data"], self.errors or None)

    async def _wave(self, pending: list[_Pending | _Batch]) -> list[_Pending | _Batch]:
        self._open = {}
        results = await asyncio.gather(
            *(p.resolve() if isinstance(p, _Batch) else p.awaitable for p in pending),
            return_exceptions=True,
        )
        following: list[_Pending | _Batch] = []
        for item, result in zip(pending, results, strict=True):
            if isinstance(item, _Batch):
                self._complete_batch(item, result, following)
                continue
            if not item.owner.alive():
                continue
            try:
                if isinstance(result, BaseException):
                    if not isinstance(result, Exception):
                        raise result
                    self._error(result, item.nodes, item.owner, item.key)
                    if self._null_at(item.kind, item.container, item.key):
                        self._propagate(item.owner)
                    continue
                self._complete(item.kind, item.nodes, item.info, result, item.container, item.key, item.owner, following)  # fmt: skip
            except _Null:
                self._propagate(item.owner)
        return following

    def _complete_batch(
        self, batch: _Batch, result: Any, following: list[_Pending | _Batch]
    ) -> None:
        plan = batch.plan
        assert plan.field is not None  # noqa: S101 - __typename has no batch
        failed = result if isinstance(result, BaseException) else None
        if failed is not None and not isinstance(failed, Exception):
            raise failed
        for index, (target, owner) in enumerate(batch.places):
            if not owner.alive():
                continue
            try:
                if failed is not None:
                    self._error(failed, plan.nodes, owner, plan.key)
                    if self._null_at(plan.field.type, target, plan.key):
                        self._propagate(owner)
                    continue
                self._complete(plan.field.type, plan.nodes, plan.info, result[index], target, plan.key, owner, following)  # fmt: skip
            except _Null:
                self._propagate(owner)

    def _batched(
        self,
        plan: Plan,
        source: Any,
        target: dict[str, Any],
        slot: Slot,
        pending: list[_Pending | _Batch],
    ) -> None:
        target[plan.key] = None
        batch = self._open.get(id(plan))
        if batch is None:
            batch = self._open[id(plan)] = _Batch(plan, [], [])
            pending.append(batch)
        batch.sources.append(source)
        batch.places.append((target, slot))

    # --- fields -------------------------------------------------------------------

    def _object(
        self,
        kind: GraphQLObjectType,
        source: Any,
        parents: Sequence[Any],
        target: dict[str, Any],
        slot: Slot,
        pending: list[_Pending | _Batch],
    ) -> None:
        """Resolves every field of one object into `target`; raises _Null when a
        non-null field of it is null (the object itself is then null, and, as
        in graphql-core, its later fields are not resolved). `parents` are the
        field nodes (or the operation) whose selections apply."""
        for plan in self._planner.plans(kind, parents):
            key = plan.key
            if plan.field is None:
                target[key] = kind.name
                continue
            if plan.batch is not None and plan.args_error is None:
                self._batched(plan, source, target, slot, pending)
                continue
            try:
                if plan.args_error is not None:
                    raise plan.args_error
                result = plan.resolve(source, plan.info, **plan.args)  # type: ignore[arg-type]
                if plan.leaf is not None and type(result) in _PLAIN:
                    # The common case, a scalar value: no further completion.
                    target[key] = self._leaf(plan, result)
                    continue
            except Exception as error:
                self._error(error, plan.nodes, slot, key)
                if self._null_at(plan.field.type, target, key):
                    raise _Null from error
                continue
            if optimized_is_awaitable(result):
                target[key] = None
                pending.append(
                    _Pending(
                        result,
                        plan.field.type,
                        plan.nodes,
                        target,
                        key,
                        slot,
                        plan.info,
                    )
                )
                continue
            self._complete(plan.field.type, plan.nodes, plan.info, result, target, key, slot, pending)  # fmt: skip

    @staticmethod
    def _leaf(plan: Plan, value: Any) -> Any:
        serialized = plan.leaf(value)
        if serialized is None:
            kind = plan.field.type if plan.field is not None else "String"
            raise TypeError(
                f"Expected a value of type '{kind}' but received: {value!r}"
            )
        return serialized

    def _complete(
        self,
        kind: GraphQLOutputType,
        nodes: list[FieldNode],
        info: Info,
        value: Any,
        container: Any,
        key: str | int,
        owner: Slot,
        pending: list[_Pending | _Batch],
    ) -> None:
        """Completes `value` as `kind` into container[key]; raises _Null if it is
        null (or became null) at a non-null position."""
        nullable = not isinstance(kind, GraphQLNonNull)
        inner = kind if nullable else kind.of_type  # type: ignore[union-attr]
        if value is None:
            if not nullable:
                self._error(_non_null(info), nodes, owner, key)
                raise _Null
            container[key] = None
            return
        try:
            if isinstance(value, Exception):
                raise value
            self._complete_inner(inner, nodes, info, value, container, key, owner, nullable, pending)  # fmt: skip
        except _Null:
            if not nullable:
                raise
            container[key] = None
        except Exception as error:
            self._error(error, nodes, owner, key)
            if not nullable:
                raise _Null from error
            container[key] = None

    def _complete_inner(
        self,
        kind: Any,
        nodes: list[FieldNode],
        info: Info,
        value: Any,
        container: Any,
        key: str | int,
        owner: Slot,
        nullable: bool,
        pending: list[_Pending | _Batch],
    ) -> None:
        if isinstance(kind, GraphQLList):
            self._list(
                kind, nodes, info, value, container, key, owner, nullable, pending
            )
        elif is_leaf_type(kind):
            serialized = kind.serialize(value)
            if serialized is None:
                raise TypeError(
                    f"Expected a value of type '{kind}' but received: {value!r}"
                )
            container[key] = serialized
        else:
            concrete = self._runtime_type(kind, value, info)
            target: dict[str, Any] = {}
            container[key] = target
            slot = Slot(container, key, nullable, owner)
            try:
                self._object(concrete, value, nodes, target, slot, pending)
            except _Null:
                slot.dead = True
                raise

    def _list(
        self,
        kind: GraphQLList[Any],
        nodes: list[FieldNode],
        info: Info,
        value: Any,
        container: Any,
        key: str | int,
        owner: Slot,
        nullable: bool,
        pending: list[_Pending | _Batch],
    ) -> None:
        if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
            raise GraphQLError(
                f"Expected Iterable, but did not find one for field "
                f"'{info.parent_type.name}.{info.field_name}'."
            )
        items = list(value)
        out: list[Any] = [None] * len(items)
        container[key] = out
        slot = Slot(container, key, nullable, owner)
        for index, item in enumerate(items):
            if optimized_is_awaitable(item):
                pending.append(
                    _Pending(item, kind.of_type, nodes, out, index, slot, info)
                )
                continue
            try:
                self._complete(
                    kind.of_type, nodes, info, item, out, index, slot, pending
                )
            except _Null:
                slot.dead = True
                raise

    def _runtime_type(self, kind: Any, value: Any, info: Info) -> GraphQLObjectType:
        if not is_abstract_type(kind):
            return kind  # type: ignore[no-any-return]
        abstract: GraphQLAbstractType = kind
        resolve = abstract.resolve_type
        name = resolve(value, info, abstract) if resolve else None  # type: ignore[arg-type]
        found = self.schema.get_type(name) if isinstance(name, str) else None
        if not isinstance(found, GraphQLObjectType) or not self.schema.is_sub_type(
            abstract, found
        ):
            raise GraphQLError(
                f"Abstract type '{abstract.name}' must resolve to an Object type "
                f"at runtime for field '{info.parent_type.name}.{info.field_name}'."
                f" Either the '{abstract.name}' type should provide a"
                " 'resolve_type' function or each possible type should provide an"
                " 'is_type_of' function."
            )
        return found

    # --- caches -------------------------------------------------------------------

    # --- errors -------------------------------------------------------------------

    def _error(
        self, error: Exception, nodes: list[FieldNode], owner: Slot, key: str | int
    ) -> None:
        if not owner.alive():
            return
        path = [*owner.path(), key]
        self.errors.append(located_error(error, nodes, path))

    @staticmethod
    def _null_at(kind: GraphQLOutputType, container: Any, key: str | int) -> bool:
        """Nulls a failed position; True if that nulls its owner too."""
        container[key] = None
        return isinstance(kind, GraphQLNonNull)

    def _propagate(self, slot: Slot | None) -> None:
        """A non-null child of `slot` is null: null the nearest nullable slot."""
        while slot is not None:
            slot.dead = True
            if slot.nullable or slot.parent is None:
                slot.container[slot.key] = None
                return
            slot = slot.parent


def _non_null(info: Info) -> GraphQLError:
    return GraphQLError(
        "Cannot return null for non-nullable field "
        f"{info.parent_type.name}.{info.field_name}."
    )
