"""Conversions of migration plans' type changes."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import ValidationFailed
from domain.ontology.convert import ConversionError, convert
from domain.ontology.migration import apply_steps, parse_plan


@pytest.mark.parametrize(
    ("value", "family", "expected"),
    [
        (" 42 ", "integer", 42),
        ("4.0", "integer", 4),
        (True, "integer", 1),
        ("9.990", "decimal", "9.990"),
        (3, "float", 3.0),
        ("Yes", "boolean", True),
        ("0", "boolean", False),
        (False, "string", "false"),
        (12, "text", "12"),
        ("2026-12-07", "date", "2026-12-07"),  # left to instance validation
    ],
)
def test_values_convert_to_the_new_family(
    value: Any, family: str, expected: Any
) -> None:
    assert convert(value, family) == expected


@pytest.mark.parametrize(
    ("value", "family"),
    [
        ("4.5", "integer"),
        ("forty", "integer"),
        ("NaN", "decimal"),
        ("maybe", "boolean"),
    ],
)
def test_values_the_family_cannot_hold_do_not_convert(value: Any, family: str) -> None:
    with pytest.raises(ConversionError):
        convert(value, family)


def _split(pattern: str) -> dict[str, Any]:
    return {"op": "split", "property": "name", "into": ["a", "b"], "pattern": pattern}


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(?=x)(a)(b)", "invalid pattern"),  # lookaround: not linear time
        (r"(a)(b)\1", "invalid pattern"),  # backreference
        ("(a)" * 400 + "(b)", "longer than 1000"),
        (r"(a)", "needs 2 groups"),
    ],
)
def test_split_patterns_that_could_not_run_in_linear_time_are_refused(
    pattern: str, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as failure:
        parse_plan({"steps": [_split(pattern)]})
    [error] = failure.value.errors
    assert (error.code, error.path) == ("invalid_step", ("steps", "0"))
    assert reason in error.message


def test_a_split_pattern_answers_hostile_values_without_backtracking() -> None:
    """`(a+)+(b)` against 50,000 a's and a c backtracks for ages in Python's re
    (the test's timeout would end it); RE2 answers that it does not match."""
    [step] = parse_plan({"steps": [_split(r"(a+)+(b)")]})
    with pytest.raises(ConversionError, match="does not match the split pattern"):
        apply_steps([step], {"name": "a" * 50_000 + "c"}, {})
    assert apply_steps([step], {"name": "aab"}, {}) == {"a": "aa", "b": "b"}
