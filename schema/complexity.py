"""Static measures of a GraphQL document: depth, aliases and estimated cost.

Each fragment is measured once and reused at every spread, so a document whose
fragments spread each other many times (`F1 { ...F2 ...F2 }`, `F2 { ...F3 ...F3 }`, …)
is measured in linear time. strawberry's QueryDepthLimiter and MaxAliasesLimiter
re-walk a fragment at every spread, which is exponential in such a chain, so the
analysis they do is done here instead.

Cost is the estimated number of resolved fields: a field costs 1 for each time it
is resolved; a field with a `first` argument (a connection, or `search`) resolves
its selection once per item of the page, `first` or the default page size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

PAGE_ARGUMENT = "first"
TOO_COMPLEX = "QUERY_REJECTED"
# A page size over the cap is the client's input, coded like the resolvers' own
# page-size error (BAD_USER_INPUT), which clients already handle.
BAD_INPUT = "BAD_USER_INPUT"


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    max_depth: int
    max_aliases: int
    max_cost: int
    default_page_size: int
    max_page_size: int


@dataclass(slots=True)
class Measure:
    """Of one selection set, as if it were resolved once."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0
    oversized_pages: list[int] = field(default_factory=list)

    def add(self, other: Measure, *, times: int = 1, deeper: int = 0) -> None:
        self.depth = max(self.depth, other.depth + deeper)
        self.aliases += other.aliases
        self.cost += other.cost * times
        self.oversized_pages += other.oversized_pages


class Analysis:
    """Measures the operations of one document against a schema."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        budget: Budget,
    ) -> None:
        self._schema = schema
        self._budget = budget
        self._fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self._measured: dict[str, Measure] = {}
        self._visiting: set[str] = set()
        self._operations = [
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        # `query($n: Int = 5000)` without $n runs with the default: measure that.
        defaults = {
            v.variable.name.value: int(v.default_value.value)
            for op in self._operations
            for v in op.variable_definitions or ()
            if isinstance(v.default_value, IntValueNode)
        }
        self._variables = {**defaults, **(variables or {})}

    def cost(self) -> int:
        """The estimated cost of the document's operations together."""
        total = 0
        for operation in self._operations:
            root = self._schema.get_root_type(operation.operation)
            total += self._selections(operation.selection_set, root).cost
        return total

    def problems(self) -> list[tuple[str, str]]:
        """Why the document must not run, as (code, reason); empty if it may."""
        found: list[tuple[str, str]] = []
        budget = self._budget
        for operation in self._operations:
            root = self._schema.get_root_type(operation.operation)
            m = self._selections(operation.selection_set, root)
            if m.depth > budget.max_depth:
                found.append(
                    (TOO_COMPLEX, f"depth {m.depth} exceeds {budget.max_depth}")
                )
            if m.aliases > budget.max_aliases:
                found.append(
                    (TOO_COMPLEX, f"{m.aliases} aliases exceed {budget.max_aliases}")
                )
            if m.oversized_pages:
                found.append(
                    (
                        BAD_INPUT,
                        f"first: {max(m.oversized_pages)} exceeds the page size cap "
                        f"{budget.max_page_size}",
                    )
                )
            elif m.cost > budget.max_cost:
                found.append(
                    (TOO_COMPLEX, f"estimated cost {m.cost} exceeds {budget.max_cost}")
                )
        return found

    def _selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> Measure:
        total = Measure()
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                total.add(self._field(node, parent))
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                kind = (
                    self._schema.get_type(condition.name.value) if condition else None
                )
                total.add(self._selections(node.selection_set, kind or parent))
            elif isinstance(node, FragmentSpreadNode):
                total.add(self._fragment(node.name.value))
        return total

    def _fragment(self, name: str) -> Measure:
        if name in self._measured:
            return self._measured[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._visiting:
            # Unknown and circular fragments are reported by graphql-core's own
            # rules; counting them as empty keeps this walk finite.
            return Measure()
        self._visiting.add(name)
        kind = self._schema.get_type(fragment.type_condition.name.value)
        measured = self._selections(fragment.selection_set, kind)
        self._visiting.discard(name)
        self._measured[name] = measured
        return measured

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Measure:
        definition = _field_of(parent, node.name.value)
        child_type = get_named_type(definition.type) if definition else None
        own = Measure(depth=1, aliases=1 if node.alias else 0, cost=1)
        if node.selection_set is None:
            return own
        page = self._page(node, definition)
        if page > self._budget.max_page_size:
            own.oversized_pages.append(page)
        child = self._selections(node.selection_set, child_type)
        own.add(child, times=page, deeper=1)
        return own

    def _page(self, node: FieldNode, definition: GraphQLField | None) -> int:
        """How often the field's selection resolves: its page size, else once."""
        if definition is None or PAGE_ARGUMENT not in definition.args:
            return 1
        argument = next(
            (a for a in node.arguments or () if a.name.value == PAGE_ARGUMENT), None
        )
        value: Any = None
        if argument is not None:
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self._variables.get(argument.value.name.value)
        if not isinstance(value, int) or isinstance(value, bool):
            return self._budget.default_page_size
        return max(value, 0)


def _field_of(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None
