"""The planning half of the lean executor (executor.py): which operations it
takes, and for one request which fields each selection resolves on each object
type, and how (resolver, shared resolve info, coerced arguments, serializer)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    default_field_resolver,
    is_leaf_type,
)
from graphql.execution.collect_fields import (
    CollectFieldsContext,
    does_fragment_condition_match,
    get_field_entry_key,
    should_include_node,
)
from graphql.execution.values import VariableValues, get_argument_values

from schema.batching import BATCH

Fields = list[tuple[str, list[FieldNode]]]


def takes(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
    """Whether this executor runs the operation: a query with no introspection
    and no incremental delivery."""
    if operation.operation is not OperationType.QUERY:
        return False
    return not any(_special(node) for node in _walk(document))


def _special(node: Any) -> bool:
    if isinstance(node, FieldNode) and node.name.value in ("__schema", "__type"):
        return True
    directives = getattr(node, "directives", None) or ()
    return any(d.name.value in ("defer", "stream") for d in directives)


def _walk(document: DocumentNode) -> Iterable[Any]:
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        yield node
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)


class Info:
    """The resolve info of one field, shared by every object it is resolved on."""

    __slots__ = (
        "context", "field_name", "field_nodes", "fragments", "operation",
        "parent_type", "return_type", "root_value", "schema", "variable_values",
    )  # fmt: skip

    def __init__(self, run: Planner, parent: GraphQLObjectType, nodes: list[FieldNode], field: GraphQLField) -> None:  # fmt: skip
        self.context = run.context
        self.field_name = nodes[0].name.value
        self.field_nodes = nodes
        self.fragments = run.fragments
        self.operation = run.operation
        self.parent_type = parent
        self.return_type = field.type
        self.root_value = None
        self.schema = run.schema
        self.variable_values = run.variables.coerced


@dataclass(slots=True)
class Plan:
    """One field of a selection on one object type, worked out once per request:
    every object of the selection reuses it."""

    key: str
    nodes: list[FieldNode]
    field: GraphQLField | None  # None: __typename
    resolve: Any = None
    info: Any = None
    args: dict[str, Any] | None = None
    args_error: Exception | None = None
    nullable: bool = True
    # The serializer when the field's type (under NonNull) is a scalar or enum.
    leaf: Any = None
    # The field's resolver for many objects at once (schema/batching.py), or None.
    batch: Any = None


class DocumentPlans:
    """What planning learns of one operation that holds for every request: the
    collected fields, when no @skip/@include reads a variable, and the
    arguments written without variables. The engine keeps one per query."""

    def __init__(self, document: DocumentNode, operation: OperationDefinitionNode):
        self.root: list[Any] = [operation]
        self.fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self.static_fields = not any(_variable_directive(n) for n in _walk(document))
        self.fields: dict[tuple[str, int], Fields] = {}
        self.args: dict[int, dict[str, Any]] = {}
        # Keeps every cached `parents` alive: ids of live objects are unique.
        self.keep: list[Sequence[Any]] = []


def _variable_directive(node: Any) -> bool:
    directives = getattr(node, "directives", None) or ()
    return any(
        isinstance(argument.value, VariableNode)
        for directive in directives
        for argument in directive.arguments or ()
    )


def _has_variables(node: FieldNode) -> bool:
    stack: list[Any] = [a.value for a in node.arguments or ()]
    while stack:
        value = stack.pop()
        if isinstance(value, VariableNode):
            return True
        stack.extend(getattr(value, "values", None) or ())
        stack.extend(f.value for f in getattr(value, "fields", None) or ())
    return False


class Planner:
    """Per request: the plans of every (selection, object type) met, cached, as
    every object of a selection shares them."""

    def __init__(
        self,
        schema: GraphQLSchema,
        shared: DocumentPlans,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        context: Any,
    ) -> None:
        self.schema = schema
        self.shared = shared
        self.operation = operation
        self.variables = variables
        self.context = context
        self.fragments = shared.fragments
        self._collected: dict[tuple[str, int], Fields] = (
            shared.fields if shared.static_fields else {}
        )
        self._planned: dict[tuple[str, int], list[Plan]] = {}
        self._keep = shared.keep
        self._collect_context = CollectFieldsContext(
            schema=schema,
            fragments={},
            variable_values=variables,
            operation=operation,
            runtime_type=None,  # type: ignore[arg-type]
            visited_fragment_names={},
            hide_suggestions=False,
            forbidden_directive_instances=[],
            forbid_skip_and_include=False,
        )

    def plans(self, kind: GraphQLObjectType, parents: Sequence[Any]) -> list[Plan]:
        cache_key = (kind.name, id(parents))
        found = self._planned.get(cache_key)
        if found is None:
            found = self._planned[cache_key] = [
                self._plan(kind, key, nodes)
                for key, nodes in self._fields(kind, parents)
            ]
        return found

    def _plan(self, kind: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> Plan:
        name = nodes[0].name.value
        if name == "__typename":
            return Plan(key, nodes, None)
        field = kind.fields[name]
        inner = (
            field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        )
        plan = Plan(
            key,
            nodes,
            field,
            resolve=field.resolve or default_field_resolver,
            info=Info(self, kind, nodes, field),
            nullable=not isinstance(field.type, GraphQLNonNull),
            leaf=inner.serialize if is_leaf_type(inner) else None,
            batch=(field.extensions or {}).get(BATCH),
        )
        try:
            plan.args = self._args(field, nodes[0])
        except Exception as error:
            plan.args_error = error
        return plan

    def _args(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        if not field.args:
            return {}
        found = self.shared.args.get(id(node))
        if found is None:
            found = get_argument_values(field, node, self.variables)
            if not _has_variables(node):
                self.shared.args[id(node)] = found
        return found

    def _fields(self, kind: GraphQLObjectType, parents: Sequence[Any]) -> Fields:
        """The merged sub-fields of `parents` (field nodes grouped by response key,
        cached per request: the node lists are the same for every object)."""
        cache_key = (kind.name, id(parents))
        found = self._collected.get(cache_key)
        if found is None:
            grouped: dict[str, list[FieldNode]] = {}
            visited: set[str] = set()
            for parent in parents:
                if parent.selection_set is not None:
                    self._collect(kind, parent.selection_set, grouped, visited)
            found = self._collected[cache_key] = list(grouped.items())
            self._keep.append(parents)
        return found

    def _collect(
        self,
        kind: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        context, variables = self._collect_context, self.variables
        for node in selection_set.selections:
            if not should_include_node(context, node, variables):  # type: ignore[arg-type]
                continue
            if isinstance(node, FieldNode):
                grouped.setdefault(get_field_entry_key(node), []).append(node)
            elif isinstance(node, InlineFragmentNode):
                if does_fragment_condition_match(self.schema, node, kind):
                    self._collect(kind, node.selection_set, grouped, visited)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if does_fragment_condition_match(self.schema, fragment, kind):
                    self._collect(kind, fragment.selection_set, grouped, visited)
