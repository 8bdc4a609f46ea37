"""Request protection on every schema: depth, alias, page-size and cost limits,
checked before anything executes, each rejection logged once per request.

Depth and aliases are measured by our own analysis (schema/complexity.py) rather
than strawberry's QueryDepthLimiter/MaxAliasesLimiter: those re-walk a fragment at
every spread, which takes exponential time on a short chain of fragments that each
spread the next one twice (20 such fragments: ~1 s, 40: practically forever).
The token limit is graphql-core's parser limit (the parser stops early).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    VariableNode,
    visit,
)
from graphql.language import Visitor

from schema.complexity import PAGE_ARGUMENT, Analysis, Budget
from schema.limits import Limits

log = logging.getLogger(__name__)

REJECTED_PREFIX = "Query rejected: "


def budget_of(limits: Limits) -> Budget:
    return Budget(
        max_depth=limits.max_depth,
        max_aliases=limits.max_aliases,
        max_cost=limits.max_cost,
        default_page_size=limits.default_page_size,
        max_page_size=limits.max_page_size,
    )


def limit_problems(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    budget: Budget,
) -> tuple[list[GraphQLError], int]:
    """Why the document must not run under the budget (empty: it may), and its
    estimated cost (what a rate limit charges)."""
    analysis = Analysis(schema, document, variables, budget)
    problems = [rejection(code, reason) for code, reason in analysis.problems()]
    return problems, analysis.cost()


def rejection(code: str, reason: str) -> GraphQLError:
    return GraphQLError(f"{REJECTED_PREFIX}{reason}.", extensions={"code": code})


def log_rejection(operation_name: str | None, message: str) -> None:
    log.warning(
        "graphql request rejected (operation %s): %s", operation_name or "-", message
    )


class _PageVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        if node.name.value == PAGE_ARGUMENT and isinstance(node.value, VariableNode):
            self.names.add(node.value.name.value)


def page_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables a document passes as `first:`, the only ones the limits read."""
    visitor = _PageVariables()
    visit(document, visitor)
    return tuple(sorted(visitor.names))
