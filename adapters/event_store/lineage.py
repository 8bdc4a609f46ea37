"""Branch lineage in SQL: which (branch, position limit) pairs a branch can see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from domain.ports import BranchSpan


def visible_clause(
    table: Any, lineage: Sequence[BranchSpan], as_of: int | None = None
) -> ColumnElement[bool]:
    """Rows of `table` (with branch and position columns) visible through the lineage."""
    parts = []
    for span in lineage:
        limit = min_limit(span.until_position, as_of)
        if limit is None:
            parts.append(table.c.branch == span.branch)
        else:
            parts.append(and_(table.c.branch == span.branch, table.c.position <= limit))
    return or_(*parts)


def min_limit(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def lineage_from_forks(
    branch: str, forks: dict[str, tuple[str, int]]
) -> list[BranchSpan]:
    """Walks parents: each ancestor is visible up to the smallest fork position below it."""
    spans = [BranchSpan(branch=branch, until_position=None)]
    limit: int | None = None
    current = branch
    seen = {branch}
    while current in forks:
        parent, fork_position = forks[current]
        limit = fork_position if limit is None else min(limit, fork_position)
        if parent in seen:  # defensive: lineage is acyclic by construction
            break
        seen.add(parent)
        spans.append(BranchSpan(branch=parent, until_position=limit))
        current = parent
    return spans
