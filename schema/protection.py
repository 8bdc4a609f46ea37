"""Request protection on every schema: depth, alias, page-size and cost limits,
checked before anything executes, each rejection (and a token-limit rejection)
logged once.

Depth and aliases are measured by our own rule (schema/complexity.py) rather than
strawberry's QueryDepthLimiter/MaxAliasesLimiter: those re-walk a fragment at every
spread, which takes exponential time on a short chain of fragments that each spread
the next one twice (20 such fragments: ~1 s, 40: practically forever).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import GraphQLError, ValidationContext, ValidationRule
from strawberry.extensions import SchemaExtension

from resolvers.context import Limits
from schema.complexity import Analysis, Budget

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


def _rule(budget: Budget, variables: Mapping[str, Any] | None) -> type[ValidationRule]:
    """A validation rule bound to this request's variables, so `first: $n` is
    measured with the value the client sent."""

    class LimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            analysis = Analysis(context.schema, context.document, variables, budget)
            for code, reason in analysis.problems():
                context.report_error(rejection(code, reason))

    return LimitsRule


def rejection(code: str, reason: str) -> GraphQLError:
    return GraphQLError(f"{REJECTED_PREFIX}{reason}.", extensions={"code": code})


class Protection(SchemaExtension):
    """Adds the limits rule and logs rejections (the token limit is strawberry's
    MaxTokensLimiter, which makes the parser stop early)."""

    def __init__(self, *, limits: Limits) -> None:
        self._budget = budget_of(limits)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        rule = _rule(self._budget, context.variables)
        context.validation_rules = (*context.validation_rules, rule)
        yield
        for error in context.pre_execution_errors or ():
            if _is_limit(error):
                log.warning(
                    "graphql request rejected (operation %s): %s",
                    context.operation_name or "-",
                    error.message,
                )


def _is_limit(error: GraphQLError) -> bool:
    return error.message.startswith(REJECTED_PREFIX) or "tokens" in error.message
