"""Operands of `where` checked before any row is read: `regex` patterns against
the supported subset (domain.regex), matched with RE2 (the in-memory
evaluation's engine), and `search` texts.

RE2 rather than Python's `re`: `re` backtracks, and even patterns without nested
quantifiers (`.*.*.*x`) take polynomial time of a high degree on long values, a
request could hold a worker for minutes. RE2 matches in time linear in the
value, whatever the pattern, so no rule short of banning repetition is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped,unused-ignore]

from domain.regex import Regex, RegexError, parse
from resolvers.errors import RequestError
from schema.ontology.inputs import TEXT_SEARCH
from schema.ontology.plan import ClassPlan


def checked(source: Any, field: str) -> Regex:
    """The parsed pattern, or a BAD_REGEX request error naming the input field."""
    try:
        return _parsed(str(source))
    except RegexError as error:
        raise RequestError(
            f"where.{field}.regex: {error}",
            code="BAD_REGEX",
            details={"field": field, "operator": "regex"},
        ) from error


def check_where(where: Mapping[str, Any] | None, plan: ClassPlan) -> None:
    """Every `regex` operand and `search` text of a `where` input, nested ones
    included, checked before any row is read: a bad one is an error even where
    no row is."""
    for name, condition in (where or {}).items():
        if condition is None:
            continue
        if name == TEXT_SEARCH:
            searched_text(condition)
        elif name in ("and_", "or_"):
            for part in condition:
                check_where(part, plan)
        elif name == "not_":
            check_where(condition, plan)
        elif (link := plan.link_for(name)) is not None:
            for part in condition.values() if link.many else [condition]:
                check_where(part, link.target)
        elif isinstance(condition, Mapping) and condition.get("regex") is not None:
            prop = plan.property_for(name)
            checked(condition["regex"], prop.graphql_name if prop else name)


def searched_text(text: Any) -> str:
    """The text of a `search` condition; a blank one is an error (it would
    match every document, not narrow anything), and so is a NUL byte (the
    index splits words there, so "\x00" alone would be blank too)."""
    if "\x00" in str(text):
        raise RequestError(
            "where.search: NUL is not supported", details={"field": "search"}
        )
    if not str(text).strip():
        raise RequestError(
            "where.search needs at least one word", details={"field": "search"}
        )
    return str(text)


def matches(pattern: Regex, value: str) -> bool:
    return _compiled(pattern.re2).search(value) is not None


@lru_cache(maxsize=512)
def _parsed(source: str) -> Regex:
    return parse(source)


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)
