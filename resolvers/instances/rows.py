"""What generated types resolve from: node rows, edges and connection pages."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.ports import NodeVersion


@dataclass(slots=True)
class NodeRow:
    """An instance as a generated type sees it; `node` is None for a dangling
    reference, which then carries only its id (dataStatus MISSING)."""

    class_id: str
    instance_id: str
    as_of: int | None
    node: NodeVersion | None
    stub_values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.instance_id

    @property
    def values(self) -> Mapping[str, Any]:
        return self.node.values if self.node is not None else self.stub_values

    @property
    def links(self) -> Mapping[str, Sequence[str]]:
        return self.node.links if self.node is not None else {}

    @property
    def seq(self) -> int:
        return self.node.seq if self.node is not None else 0

    @property
    def branch(self) -> str:
        return self.node.branch if self.node is not None else ""

    @property
    def created_at(self) -> str | None:
        return self.node.created_at if self.node is not None else None

    @property
    def updated_at(self) -> str | None:
        return self.node.updated_at if self.node is not None else None

    def linked(self, predicate: str) -> list[str]:
        targets = self.links.get(predicate)
        if targets is None:
            return []
        if isinstance(targets, str):
            return [targets]
        return [str(t) for t in targets]


def row(node: NodeVersion, as_of: int | None) -> NodeRow:
    return NodeRow(node.class_id, node.instance_id, as_of, node)


def dangling(
    class_id: str, instance_id: str, as_of: int | None, key: str | None
) -> NodeRow:
    return NodeRow(
        class_id, instance_id, as_of, None, {key: instance_id} if key else {}
    )


@dataclass(frozen=True, slots=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass(frozen=True, slots=True)
class Edge:
    """`position` is the cursor's plain content (kind:value): most queries never
    ask for cursors, so they are encoded only when read."""

    position: str
    node: NodeRow

    @property
    def cursor(self) -> str:
        return base64.urlsafe_b64encode(self.position.encode()).decode()


@dataclass(frozen=True, slots=True)
class ConnectionPage:
    edges: list[Edge]
    page_info: PageInfo
    count: Callable[[], Awaitable[int]]

    @property
    def nodes(self) -> list[NodeRow]:
        return [e.node for e in self.edges]

    @property
    def total_count(self) -> Awaitable[int]:
        # Counted only when asked for: GraphQL awaits what a field resolves to.
        return self.count()


def field_value(source: Any, name: str) -> Any:
    """The generated schema's default resolver: `p_<property>` reads a node's
    values, other names are attributes (or keys of a plain mapping)."""
    if isinstance(source, NodeRow):
        if name.startswith("p_"):
            return source.values.get(name[2:])
        return getattr(source, name)
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name)
