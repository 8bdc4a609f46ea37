"""Conversions of migration plans' type changes."""

from __future__ import annotations

from typing import Any

import pytest

from domain.ontology.convert import ConversionError, convert


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
