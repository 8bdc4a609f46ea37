"""Property types: parsing specs, normalising values, value and definition constraints."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Context, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationFailed
from domain.ontology.checks import check_constraints
from domain.ontology.formats import INT64_MAX, INT64_MIN, JS_SAFE_INTEGER, show_value
from domain.ontology.values import MAX_ITEM_ERRORS, MAX_JSON_DEPTH
from domain.types import (
    Family,
    PropertyType,
    allowed_constraints,
    parse_type,
    try_parse_type,
    validate_constraints,
    validate_value,
)

PATH = ("field",)


def check(spec: str, value: object, **constraints: Any) -> tuple[object, list[str]]:
    """Validate `value` as `spec`; returns the normalised value and the error codes."""
    normalised, errors = validate_value(parse_type(spec), constraints, value, PATH)
    return normalised, [e.code for e in errors]


def codes_of(spec: str, constraints: object) -> list[str]:
    return [e.code for e in validate_constraints(parse_type(spec), constraints, ("c",))]


ALIASES = [
    ("string", Family.STRING),
    ("str", Family.STRING),
    ("xsd:string", Family.STRING),
    ("text", Family.TEXT),
    ("integer", Family.INTEGER),
    ("int", Family.INTEGER),
    ("long", Family.INTEGER),
    ("xsd:integer", Family.INTEGER),
    ("xsd:int", Family.INTEGER),
    ("xsd:long", Family.INTEGER),
    ("decimal", Family.DECIMAL),
    ("xsd:decimal", Family.DECIMAL),
    ("numeric", Family.DECIMAL),
    ("float", Family.FLOAT),
    ("double", Family.FLOAT),
    ("number", Family.FLOAT),
    ("xsd:double", Family.FLOAT),
    ("xsd:float", Family.FLOAT),
    ("boolean", Family.BOOLEAN),
    ("bool", Family.BOOLEAN),
    ("xsd:boolean", Family.BOOLEAN),
    ("date", Family.DATE),
    ("xsd:date", Family.DATE),
    ("datetime", Family.DATETIME),
    ("timestamp", Family.DATETIME),
    ("xsd:dateTime", Family.DATETIME),
    ("time", Family.TIME),
    ("xsd:time", Family.TIME),
    ("duration", Family.DURATION),
    ("xsd:duration", Family.DURATION),
    ("uuid", Family.UUID),
    ("email", Family.EMAIL),
    ("url", Family.URL),
    ("uri", Family.URL),
    ("xsd:anyURI", Family.URL),
    ("phone", Family.PHONE),
    ("ip", Family.IP),
    ("money", Family.MONEY),
    ("enum", Family.ENUM),
    ("json", Family.JSON),
    ("struct", Family.JSON),
    ("object", Family.JSON),
    ("geopoint", Family.GEOPOINT),
    ("vector", Family.VECTOR),
]


class TestParseType:
    @pytest.mark.parametrize(("spec", "family"), ALIASES, ids=[a for a, _ in ALIASES])
    def test_maps_each_alias_to_its_canonical_family(
        self, spec: str, family: Family
    ) -> None:
        assert parse_type(spec) == PropertyType(family)

    @pytest.mark.parametrize(
        "spec",
        ["INT", "Xsd:DateTime", "  Email  ", "BOOLEAN"],
        ids=["upper", "mixed", "padded", "bool"],
    )
    def test_ignores_case_and_surrounding_space(self, spec: str) -> None:
        assert parse_type(spec) == parse_type(spec.strip().lower())

    @pytest.mark.parametrize(
        ("spec", "item"),
        [
            ("array<string>", Family.STRING),
            ("list<int>", Family.INTEGER),
            ("Array< xsd:dateTime >", Family.DATETIME),
            ("money[]", Family.MONEY),
        ],
        ids=["array", "list", "spaced-alias", "brackets"],
    )
    def test_parses_arrays_of_any_scalar(self, spec: str, item: Family) -> None:
        parsed = parse_type(spec)
        assert parsed == PropertyType(Family.ARRAY, PropertyType(item))
        assert parsed.is_array
        assert parsed.element == PropertyType(item)
        assert str(parsed) == f"array<{item.value}>"

    def test_scalar_is_its_own_element(self) -> None:
        parsed = parse_type("xsd:long")
        assert not parsed.is_array
        assert parsed.element is parsed
        assert str(parsed) == "integer"

    @pytest.mark.parametrize(
        "spec",
        [
            "varchar",
            "",
            "array",
            "array<>",
            "array<array<int>>",
            "list<foo>",
            "[]",
            "x" * 101,
        ],
        ids=[
            "unknown",
            "empty",
            "bare-array",
            "empty-item",
            "nested",
            "unknown-item",
            "brackets-only",
            "too-long",
        ],
    )
    def test_rejects_unknown_types_with_unknown_type(self, spec: str) -> None:
        with pytest.raises(ValidationFailed) as failure:
            parse_type(spec)
        assert [e.code for e in failure.value.errors] == ["unknown_type"]
        assert "unknown property type" in failure.value.errors[0].message

    @pytest.mark.parametrize("spec", [None, 5, ["string"]], ids=["none", "int", "list"])
    def test_try_parse_type_returns_none_for_non_text(self, spec: object) -> None:
        assert try_parse_type(spec) is None

    @pytest.mark.parametrize(
        ("family", "item"),
        [
            (Family.ARRAY, None),
            (Family.STRING, PropertyType(Family.STRING)),
            (Family.ARRAY, PropertyType(Family.ARRAY, PropertyType(Family.STRING))),
        ],
        ids=["array-without-item", "scalar-with-item", "nested-array"],
    )
    def test_property_type_refuses_inconsistent_shapes(
        self, family: Family, item: PropertyType | None
    ) -> None:
        with pytest.raises(ValueError, match="array"):
            PropertyType(family, item)


ACCEPTED: list[tuple[str, object, object]] = [
    ("string", "hello", "hello"),
    ("string", "", ""),
    ("text", "long\ntext", "long\ntext"),
    ("integer", 42, 42),
    ("integer", -7, -7),
    ("integer", 3.0, 3),
    ("integer", Decimal("12"), 12),
    ("integer", str(JS_SAFE_INTEGER + 1), JS_SAFE_INTEGER + 1),
    ("integer", str(INT64_MIN), INT64_MIN),
    ("decimal", "9.99", "9.99"),
    ("decimal", "9.90", "9.9"),
    ("decimal", "-0.000", "0"),
    ("decimal", "1e3", "1000"),
    ("decimal", "+.5", "0.5"),
    ("decimal", 10, "10"),
    ("decimal", 0.1, "0.1"),
    ("decimal", Decimal("2.50"), "2.5"),
    ("float", 1.5, 1.5),
    ("float", 2, 2.0),
    ("float", Decimal("0.25"), 0.25),
    ("boolean", True, True),
    ("boolean", False, False),
    ("date", "2024-02-29", "2024-02-29"),
    ("date", date(2024, 1, 2), "2024-01-02"),
    ("datetime", "2024-01-01T10:00:00+09:00", "2024-01-01T01:00:00Z"),
    ("datetime", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
    ("datetime", "2024-01-01 10:00:00.250+00:00", "2024-01-01T10:00:00.250000Z"),
    (
        "datetime",
        datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=-5))),
        "2024-05-01T17:00:00Z",
    ),
    ("time", "10:30", "10:30:00"),
    ("time", "23:59:59.5", "23:59:59.500000"),
    ("time", time(8, 15, 0), "08:15:00"),
    ("duration", "P1Y2M3DT4H5M6.5S", "P1Y2M3DT4H5M6.5S"),
    ("duration", "pt15m", "PT15M"),
    ("duration", "-P2W", "-P2W"),
    (
        "uuid",
        "6FA459EA-EE8A-3CA4-894E-DB77E160355E",
        "6fa459ea-ee8a-3ca4-894e-db77e160355e",
    ),
    (
        "uuid",
        "6fa459eaee8a3ca4894edb77e160355e",
        "6fa459ea-ee8a-3ca4-894e-db77e160355e",
    ),
    (
        "uuid",
        "{6fa459ea-ee8a-3ca4-894e-db77e160355e}",
        "6fa459ea-ee8a-3ca4-894e-db77e160355e",
    ),
    (
        "uuid",
        "URN:UUID:6fa459ea-ee8a-3ca4-894e-db77e160355e",
        "6fa459ea-ee8a-3ca4-894e-db77e160355e",
    ),
    ("email", "Ann.Lee+tag@Example.COM", "Ann.Lee+tag@example.com"),
    ("url", "https://example.com:8443/a?b=c#d", "https://example.com:8443/a?b=c#d"),
    ("uri", "ftp://files.example.org/x", "ftp://files.example.org/x"),
    ("phone", "+82 (10) 1234-5678", "+821012345678"),
    ("phone", "555.123.4567", "5551234567"),
    ("ip", "192.168.0.1", "192.168.0.1"),
    ("ip", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    (
        "money",
        {"amount": "12.50", "currency": "usd"},
        {"amount": "12.5", "currency": "USD"},
    ),
    ("money", {"amount": 3, "currency": "KRW"}, {"amount": "3", "currency": "KRW"}),
    ("json", {"a": [1, 2.5, None, True, "x"]}, {"a": [1, 2.5, None, True, "x"]}),
    ("json", ("a", "b"), ["a", "b"]),
    ("json", "plain", "plain"),
    ("geopoint", {"lat": 37.5, "lon": 127}, {"lat": 37.5, "lon": 127.0}),
    ("geopoint", {"lat": -90, "lon": 180}, {"lat": -90.0, "lon": 180.0}),
    ("vector", [1, 2.5, Decimal("3")], [1.0, 2.5, 3.0]),
    ("array<string>", ["a", "b"], ["a", "b"]),
    ("array<decimal>", ("1.0", 2), ["1", "2"]),
    ("array<date>", [], []),
]


REJECTED: list[tuple[str, object, str]] = [
    ("string", 5, "type_mismatch"),
    ("text", ["x"], "type_mismatch"),
    ("integer", True, "type_mismatch"),
    ("integer", 1.5, "type_mismatch"),
    ("integer", float("nan"), "type_mismatch"),
    ("integer", "12", "type_mismatch"),
    ("integer", "12.0", "type_mismatch"),
    ("integer", Decimal("1.5"), "type_mismatch"),
    ("integer", Decimal("Infinity"), "type_mismatch"),
    ("integer", 2**63, "out_of_range"),
    ("integer", 1e300, "out_of_range"),
    ("decimal", "abc", "invalid_format"),
    ("decimal", "1,5", "invalid_format"),
    ("decimal", "NaN", "invalid_format"),
    ("decimal", float("inf"), "type_mismatch"),
    ("decimal", Decimal("NaN"), "type_mismatch"),
    ("decimal", False, "type_mismatch"),
    ("decimal", "1" * 129, "out_of_range"),
    ("decimal", "1e200", "out_of_range"),
    ("float", "1.5", "type_mismatch"),
    ("float", True, "type_mismatch"),
    ("float", float("inf"), "type_mismatch"),
    ("float", 10**400, "type_mismatch"),
    ("boolean", 1, "type_mismatch"),
    ("boolean", "true", "type_mismatch"),
    ("date", "2023-02-29", "invalid_format"),
    ("date", "20240101", "invalid_format"),
    ("date", datetime(2024, 1, 1, tzinfo=UTC), "type_mismatch"),
    ("date", 20240101, "type_mismatch"),
    ("datetime", "2024-01-01T10:00:00", "timezone_required"),
    ("datetime", datetime(2024, 1, 1), "timezone_required"),  # noqa: DTZ001 - naive on purpose
    ("datetime", "2024-01-01", "invalid_format"),
    ("datetime", "2024-13-01T00:00:00Z", "invalid_format"),
    ("datetime", "0001-01-01T00:00:00+01:00", "out_of_range"),
    ("datetime", 1700000000, "type_mismatch"),
    ("time", "25:00", "invalid_format"),
    ("time", "10:00:00+09:00", "invalid_format"),
    ("time", time(10, tzinfo=UTC), "type_mismatch"),
    ("duration", "P", "invalid_format"),
    ("duration", "PT", "invalid_format"),
    ("duration", "1D", "invalid_format"),
    ("duration", 60, "type_mismatch"),
    ("uuid", "not-a-uuid", "invalid_format"),
    ("uuid", "6fa459ea-ee8a-3ca4-894e-db77e160355", "invalid_format"),
    ("uuid", uuid.UUID(int=1), "type_mismatch"),
    ("email", "no-at-sign", "invalid_format"),
    ("email", "a@b", "invalid_format"),
    ("email", "a..b@example.com", "invalid_format"),
    ("email", "x" * 65 + "@example.com", "invalid_format"),
    ("email", " a@example.com", "invalid_format"),
    ("url", "example.com/path", "invalid_format"),
    ("url", "https://exa mple.com", "invalid_format"),
    ("url", "https://example.com:99999/", "invalid_format"),
    ("url", "mailto:a@example.com", "invalid_format"),
    ("url", "https://[::1/", "invalid_format"),
    ("phone", "12345", "invalid_format"),
    ("phone", "call me", "invalid_format"),
    ("phone", "+1234567890123456", "invalid_format"),
    ("ip", "256.1.1.1", "invalid_format"),
    ("ip", 3232235521, "type_mismatch"),
    ("money", "12.50 USD", "type_mismatch"),
    ("enum", 3, "type_mismatch"),
    ("json", {1: "non-text key"}, "type_mismatch"),
    ("json", float("nan"), "type_mismatch"),
    ("json", Decimal("1.5"), "type_mismatch"),
    ("json", {1, 2}, "type_mismatch"),
    ("geopoint", [37.5, 127.0], "type_mismatch"),
    ("vector", "1,2,3", "type_mismatch"),
    ("array<string>", "a,b", "type_mismatch"),
]


class TestValidateValue:
    @pytest.mark.parametrize(
        ("spec", "value", "expected"),
        ACCEPTED,
        ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(ACCEPTED)],
    )
    def test_normalises_valid_values(
        self, spec: str, value: object, expected: object
    ) -> None:
        assert check(spec, value) == (expected, [])

    @pytest.mark.parametrize(
        ("spec", "value", "code"),
        REJECTED,
        ids=[f"{s}-{c}-{i}" for i, (s, _, c) in enumerate(REJECTED)],
    )
    def test_rejects_invalid_values_with_a_stable_code(
        self, spec: str, value: object, code: str
    ) -> None:
        normalised, codes = check(spec, value)
        assert codes == [code]
        assert normalised is value

    @pytest.mark.parametrize("spec", ["string", "money", "array<int>", "json"], ids=str)
    def test_treats_none_as_absent(self, spec: str) -> None:
        assert check(spec, None) == (None, [])

    def test_error_points_at_the_given_path(self) -> None:
        _, errors = validate_value(
            parse_type("integer"), {}, "x", ("properties", "qty")
        )
        assert errors[0].path == ("properties", "qty")

    def test_messages_truncate_huge_values(self) -> None:
        _, errors = validate_value(parse_type("integer"), {}, "y" * 10_000, PATH)
        assert len(errors[0].message) < 120
        assert "…" in errors[0].message

    @pytest.mark.parametrize(
        ("value", "missing"),
        [({"currency": "USD"}, "amount"), ({"amount": "1"}, "currency")],
        ids=["amount", "currency"],
    )
    def test_money_needs_amount_and_currency(self, value: object, missing: str) -> None:
        _, errors = validate_value(parse_type("money"), {}, value, PATH)
        assert [(e.path, e.code) for e in errors] == [((*PATH, missing), "required")]

    def test_money_reports_each_bad_part_at_its_path(self) -> None:
        value = {"amount": "x", "currency": "US", "note": "?"}
        _, errors = validate_value(parse_type("money"), {}, value, PATH)
        assert [(e.path, e.code) for e in errors] == [
            ((*PATH, "note"), "unknown_property"),
            ((*PATH, "amount"), "invalid_format"),
            ((*PATH, "currency"), "invalid_format"),
        ]

    @pytest.mark.parametrize(
        ("value", "where", "code"),
        [
            ({"lat": 91, "lon": 0}, "lat", "out_of_range"),
            ({"lat": 0, "lon": -180.5}, "lon", "out_of_range"),
            ({"lat": "north", "lon": 0}, "lat", "type_mismatch"),
            ({"lon": 0}, "lat", "required"),
            ({"lat": 0, "lon": 0, "alt": 3}, "alt", "unknown_property"),
        ],
        ids=["lat-range", "lon-range", "lat-type", "lat-missing", "extra-key"],
    )
    def test_geopoint_checks_each_coordinate(
        self, value: object, where: str, code: str
    ) -> None:
        _, errors = validate_value(parse_type("geopoint"), {}, value, PATH)
        assert [(e.path, e.code) for e in errors] == [((*PATH, where), code)]

    def test_vector_reports_bad_components_by_index(self) -> None:
        _, errors = validate_value(
            parse_type("vector"), {"dimension": 3}, [1, "x", None], PATH
        )
        assert [(e.path, e.code) for e in errors] == [
            ((*PATH, "1"), "type_mismatch"),
            ((*PATH, "2"), "type_mismatch"),
        ]

    def test_array_reports_item_errors_with_the_index_in_the_path(self) -> None:
        _, errors = validate_value(
            parse_type("array<integer>"), {}, [1, "two", None], ("tags",)
        )
        assert [(e.path, e.code) for e in errors] == [
            (("tags", "1"), "type_mismatch"),
            (("tags", "2"), "type_mismatch"),
        ]

    def test_array_caps_the_number_of_item_errors(self) -> None:
        _, errors = validate_value(parse_type("array<integer>"), {}, ["x"] * 100, PATH)
        assert len(errors) == MAX_ITEM_ERRORS

    def test_vector_caps_the_number_of_component_errors(self) -> None:
        _, errors = validate_value(parse_type("vector"), {}, ["x"] * 100, PATH)
        assert len(errors) == MAX_ITEM_ERRORS

    def test_json_refuses_values_nested_too_deeply(self) -> None:
        value: object = "leaf"
        for _ in range(MAX_JSON_DEPTH + 1):
            value = [value]
        _, codes = check("json", value)
        assert codes == ["type_mismatch"]

    def test_json_accepts_values_at_the_depth_limit(self) -> None:
        value: object = "leaf"
        for _ in range(MAX_JSON_DEPTH):
            value = [value]
        assert check("json", value) == (value, [])


# (type, constraints, value, expected codes); an empty list means the value passes.
CONSTRAINED: list[tuple[str, dict[str, Any], object, list[str]]] = [
    ("string", {"minLength": 2}, "ab", []),
    ("string", {"minLength": 2}, "a", ["min_length"]),
    ("string", {"maxLength": 2}, "ab", []),
    ("string", {"maxLength": 2}, "abc", ["max_length"]),
    ("text", {"minLength": 1, "maxLength": 1}, "", ["min_length"]),
    ("string", {"pattern": "[A-Z]{3}"}, "ABC", []),
    ("string", {"pattern": "[A-Z]{3}"}, "ABCD", ["pattern_mismatch"]),
    ("email", {"pattern": ".*@example\\.com"}, "a@other.com", ["pattern_mismatch"]),
    ("string", {"pattern": "("}, "anything", []),
    ("integer", {"minimum": 1}, 1, []),
    ("integer", {"minimum": 1}, 0, ["minimum"]),
    ("integer", {"maximum": 10}, 10, []),
    ("integer", {"maximum": 10}, 11, ["maximum"]),
    ("integer", {"exclusiveMinimum": 0}, 1, []),
    ("integer", {"exclusiveMinimum": 0}, 0, ["exclusive_minimum"]),
    ("integer", {"exclusiveMaximum": 5}, 4, []),
    ("integer", {"exclusiveMaximum": 5}, 5, ["exclusive_maximum"]),
    ("integer", {"multipleOf": 5}, 15, []),
    ("integer", {"multipleOf": 5}, 16, ["multiple_of"]),
    ("integer", {"minimum": "not a number"}, 0, []),
    ("float", {"multipleOf": 0.1}, 0.3, []),
    ("float", {"multipleOf": 0.1}, 0.35, ["multiple_of"]),
    ("float", {"minimum": 0.5, "maximum": 1.5}, 2.0, ["maximum"]),
    ("decimal", {"minimum": "0.01"}, "0.001", ["minimum"]),
    ("decimal", {"precision": 5, "scale": 2}, "999.99", []),
    ("decimal", {"precision": 5, "scale": 2}, "1000", ["precision"]),
    ("decimal", {"scale": 2}, "1.005", ["scale"]),
    ("decimal", {"precision": 4}, "12.34", []),
    ("decimal", {"precision": 4}, "12.345", ["precision"]),
    ("decimal", {"precision": 3, "scale": 1}, "0.5", []),
    ("money", {"minimum": 0}, {"amount": "-1", "currency": "USD"}, ["minimum"]),
    ("money", {"scale": 2}, {"amount": "1.234", "currency": "USD"}, ["scale"]),
    (
        "money",
        {"allowedCurrencies": ["usd", "EUR"]},
        {"amount": "1", "currency": "eur"},
        [],
    ),
    (
        "money",
        {"allowedCurrencies": ["USD"]},
        {"amount": "1", "currency": "KRW"},
        ["currency_not_allowed"],
    ),
    ("date", {"minimum": "2020-01-01"}, "2020-01-01", []),
    ("date", {"minimum": "2020-01-01"}, "2019-12-31", ["minimum"]),
    ("date", {"exclusiveMaximum": "2020-01-01"}, "2020-01-01", ["exclusive_maximum"]),
    ("datetime", {"maximum": "2024-01-01T00:00:00Z"}, "2024-01-01T08:59:59+09:00", []),
    (
        "datetime",
        {"maximum": "2024-01-01T00:00:00Z"},
        "2024-01-01T09:00:01+09:00",
        ["maximum"],
    ),
    (
        "datetime",
        {"exclusiveMinimum": "2024-01-01T00:00:00Z"},
        "2024-01-01T00:00:00Z",
        ["exclusive_minimum"],
    ),
    ("time", {"minimum": "09:00", "maximum": "17:00"}, "08:59:59", ["minimum"]),
    ("time", {"minimum": "09:00", "maximum": "17:00"}, "12:00", []),
    ("enum", {"enumValues": ["red", "green"]}, "red", []),
    ("enum", {"enumValues": ["red", "green"]}, "blue", ["enum_value"]),
    ("enum", {"values": ["S", "M", "L"]}, "XL", ["enum_value"]),
    ("enum", {}, "anything", []),
    ("vector", {"dimension": 3}, [1, 2, 3], []),
    ("vector", {"dimension": 3}, [1, 2], ["dimension_mismatch"]),
    ("array<string>", {"minItems": 1}, ["a"], []),
    ("array<string>", {"minItems": 1}, [], ["min_items"]),
    ("array<string>", {"maxItems": 1}, ["a", "b"], ["max_items"]),
    ("array<string>", {"uniqueItems": True}, ["a", "b"], []),
    ("array<string>", {"uniqueItems": True}, ["a", "a"], ["unique_items"]),
    ("array<string>", {"uniqueItems": False}, ["a", "a"], []),
    (
        "array<money>",
        {"uniqueItems": True},
        [{"amount": "1.0", "currency": "usd"}, {"amount": "1", "currency": "USD"}],
        ["unique_items"],
    ),
    ("array<string>", {"maxLength": 1, "maxItems": 5}, ["a", "bb"], ["max_length"]),
    ("array<vector>", {"dimension": 2}, [[1, 2], [3]], ["dimension_mismatch"]),
]


class TestValueConstraints:
    @pytest.mark.parametrize(
        ("spec", "constraints", "value", "expected"),
        CONSTRAINED,
        ids=[
            f"{s}-{'-'.join(c) or 'ok'}-{i}"
            for i, (s, _, _, c) in enumerate(CONSTRAINED)
        ],
    )
    def test_enforces_each_constraint(
        self, spec: str, constraints: dict[str, Any], value: object, expected: list[str]
    ) -> None:
        assert check(spec, value, **constraints)[1] == expected

    def test_pads_decimals_to_the_declared_scale(self) -> None:
        assert check("decimal", "3", scale=2) == ("3.00", [])
        assert check("decimal", "0", scale=1) == ("0.0", [])

    def test_pads_money_amounts_to_the_declared_scale(self) -> None:
        value = {"amount": 5, "currency": "usd"}
        assert check("money", value, scale=2) == (
            {"amount": "5.00", "currency": "USD"},
            [],
        )

    @pytest.mark.parametrize("scale", [True, 500, -1], ids=["bool", "huge", "negative"])
    def test_ignores_a_malformed_scale_when_rendering(self, scale: object) -> None:
        assert check("decimal", "3.5", scale=scale)[0] == "3.5"

    def test_scale_does_not_reshape_other_families(self) -> None:
        assert check("integer", 5, scale=2) == (5, [])

    @pytest.mark.parametrize(
        ("family", "constraints", "value"),
        [
            (Family.STRING, {"minLength": 3}, 5),
            (Family.INTEGER, {"minimum": 3}, "x"),
            (Family.DECIMAL, {"scale": 0}, None),
            (Family.MONEY, {"minimum": 3}, "3 USD"),
            (Family.DATE, {"minimum": "2020-01-01"}, 2019),
        ],
        ids=["string", "integer", "decimal", "money", "date"],
    )
    def test_constraint_checks_skip_values_not_in_normalised_form(
        self, family: Family, constraints: dict[str, Any], value: object
    ) -> None:
        assert check_constraints(family, constraints, value, PATH) == []

    def test_unique_items_points_at_the_repeated_item(self) -> None:
        _, errors = validate_value(
            parse_type("array<int>"), {"uniqueItems": True}, [1, 2, 1], ("n",)
        )
        assert [(e.path, e.code) for e in errors] == [(("n", "2"), "unique_items")]

    def test_precision_message_names_the_limit(self) -> None:
        _, errors = validate_value(
            parse_type("decimal"), {"precision": 5, "scale": 2}, "1234", PATH
        )
        assert "allows 3" in errors[0].message

    def test_enum_message_lists_at_most_ten_values(self) -> None:
        values = [f"v{i}" for i in range(15)]
        _, errors = validate_value(
            parse_type("enum"), {"enumValues": values}, "nope", PATH
        )
        assert "'v9'" in errors[0].message
        assert "'v10'" not in errors[0].message


# (type, constraints, expected codes); an empty list means the definition is fine.
DEFINITIONS: list[tuple[str, object, list[str]]] = [
    ("string", {"minLength": 1, "maxLength": 5, "pattern": "[a-z]+"}, []),
    ("string", {"minLength": -1}, ["invalid_constraint"]),
    ("string", {"maxLength": True}, ["invalid_constraint"]),
    ("string", {"maxLength": 1.5}, ["invalid_constraint"]),
    ("string", {"minLength": 5, "maxLength": 2}, ["invalid_constraint"]),
    ("string", {"pattern": "("}, ["invalid_constraint"]),
    ("string", {"pattern": 5}, ["invalid_constraint"]),
    ("string", {"pattern": "a" * 1001}, ["invalid_constraint"]),
    ("string", {"minimum": 1}, ["unknown_constraint"]),
    ("string", {"nonsense": 1}, ["unknown_constraint"]),
    ("string", ["minLength"], ["invalid_constraint"]),
    ("integer", {"minimum": 0, "maximum": 10, "multipleOf": 2}, []),
    ("integer", {"minimum": 10, "maximum": 0}, ["invalid_constraint"]),
    ("integer", {"minimum": "ten"}, ["invalid_constraint"]),
    ("integer", {"minimum": "1e500"}, ["invalid_constraint"]),
    ("integer", {"exclusiveMinimum": 5, "exclusiveMaximum": 5}, ["invalid_constraint"]),
    ("integer", {"exclusiveMinimum": 4, "exclusiveMaximum": 5}, []),
    ("integer", {"multipleOf": 0}, ["invalid_constraint"]),
    ("integer", {"multipleOf": "x"}, ["invalid_constraint"]),
    ("integer", {"pattern": "x"}, ["unknown_constraint"]),
    ("float", {"minimum": -1.5, "maximum": "2.5"}, []),
    ("decimal", {"precision": 10, "scale": 2}, []),
    ("decimal", {"precision": 2, "scale": 3}, ["invalid_constraint"]),
    ("decimal", {"precision": 0}, ["invalid_constraint"]),
    ("decimal", {"precision": 129}, ["invalid_constraint"]),
    ("decimal", {"scale": 129}, ["invalid_constraint"]),
    ("money", {"allowedCurrencies": ["USD", "eur"], "scale": 2, "minimum": 0}, []),
    ("money", {"allowedCurrencies": []}, ["invalid_constraint"]),
    ("money", {"allowedCurrencies": "USD"}, ["invalid_constraint"]),
    ("money", {"allowedCurrencies": ["US Dollar"]}, ["invalid_constraint"]),
    ("date", {"minimum": "2020-01-01", "maximum": "2021-01-01"}, []),
    (
        "date",
        {"minimum": "2021-01-01", "maximum": "2020-01-01"},
        ["invalid_constraint"],
    ),
    ("date", {"minimum": 2020}, ["invalid_constraint"]),
    ("datetime", {"minimum": "2020-01-01T00:00:00Z"}, []),
    ("datetime", {"minimum": "2020-01-01T00:00:00"}, ["invalid_constraint"]),
    ("time", {"maximum": "25:00"}, ["invalid_constraint"]),
    ("time", {"multipleOf": 5}, ["unknown_constraint"]),
    ("enum", {"enumValues": ["a", "b"]}, []),
    ("enum", {"values": ["a"]}, []),
    ("enum", {}, ["invalid_constraint"]),
    ("enum", {"enumValues": ["a"], "values": ["a"]}, ["invalid_constraint"]),
    ("enum", {"enumValues": []}, ["invalid_constraint"]),
    ("enum", {"enumValues": "a,b"}, ["invalid_constraint"]),
    ("enum", {"enumValues": ["a", ""]}, ["invalid_constraint"]),
    ("enum", {"enumValues": ["a", 1]}, ["invalid_constraint"]),
    ("enum", {"enumValues": ["a", "a"]}, ["invalid_constraint"]),
    ("vector", {"dimension": 3}, []),
    ("vector", {}, ["invalid_constraint"]),
    ("vector", {"dimension": 0}, ["invalid_constraint"]),
    (
        "array<string>",
        {"minItems": 1, "maxItems": 3, "uniqueItems": True, "maxLength": 5},
        [],
    ),
    ("array<string>", {"minItems": 3, "maxItems": 1}, ["invalid_constraint"]),
    ("array<string>", {"uniqueItems": "yes"}, ["invalid_constraint"]),
    ("array<enum>", {}, ["invalid_constraint"]),
    ("string", {"minItems": 1}, ["unknown_constraint"]),
    ("boolean", {"minimum": 1}, ["unknown_constraint"]),
    ("json", {}, []),
]


class TestValidateConstraints:
    @pytest.mark.parametrize(
        ("spec", "constraints", "expected"),
        DEFINITIONS,
        ids=[
            f"{s}-{'-'.join(c) or 'ok'}-{i}" for i, (s, _, c) in enumerate(DEFINITIONS)
        ],
    )
    def test_checks_definition_constraints(
        self, spec: str, constraints: object, expected: list[str]
    ) -> None:
        assert codes_of(spec, constraints) == expected

    def test_paths_name_the_offending_constraint(self) -> None:
        errors = validate_constraints(
            parse_type("integer"), {"minimum": 9, "maximum": 1}, ("p",)
        )
        assert errors[0].path == ("p", "maximum")

    def test_unknown_constraint_message_lists_the_allowed_ones(self) -> None:
        errors = validate_constraints(
            parse_type("vector"), {"maxLength": 1, "dimension": 2}, ("p",)
        )
        assert errors[0].path == ("p", "maxLength")
        assert "dimension" in errors[0].message

    def test_a_type_without_constraints_says_none_apply(self) -> None:
        errors = validate_constraints(parse_type("uuid"), {"pattern": "x"}, ())
        assert "allowed: none" in errors[0].message

    def test_arrays_allow_their_own_and_their_items_constraints(self) -> None:
        assert allowed_constraints(parse_type("array<integer>")) == {
            "minItems", "maxItems", "uniqueItems",
            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        }  # fmt: skip
        assert allowed_constraints(parse_type("geopoint")) == frozenset()


class TestShowValue:
    @pytest.mark.parametrize(
        ("value", "shown"),
        [
            ("short", "'short'"),
            ("x" * 50, "'" + "x" * 40 + "'…"),
            (2**300, "an integer of 301 bits"),
            (list(range(20)), "a list of 20 items"),
            ([1, 2], "[1, 2]"),
            (Decimal("1." + "1" * 60), "Decimal('1." + "1" * 29 + "…"),
        ],
        ids=["short", "long-text", "huge-int", "long-list", "short-list", "long-repr"],
    )
    def test_renders_values_briefly(self, value: object, shown: str) -> None:
        assert show_value(value) == shown


decimals = st.decimals(
    min_value=Decimal("-1e40"),
    max_value=Decimal("1e40"),
    allow_nan=False,
    allow_infinity=False,
)


class TestNormalisationProperties:
    @given(decimals)
    def test_decimal_text_normalises_to_an_equal_plain_decimal(
        self, number: Decimal
    ) -> None:
        stored, codes = check("decimal", str(number))
        assert codes == []
        assert isinstance(stored, str)
        assert Decimal(stored) == number
        assert "e" not in stored.lower()
        assert not (("." in stored) and stored.endswith("0"))

    @given(decimals)
    def test_decimal_normalisation_is_idempotent(self, number: Decimal) -> None:
        stored, _ = check("decimal", number)
        assert check("decimal", stored) == (stored, [])

    @given(decimals, st.integers(min_value=0, max_value=6))
    def test_scaled_decimals_keep_exactly_scale_places(
        self, number: Decimal, scale: int
    ) -> None:
        scaled = Context(prec=100).quantize(number, Decimal(1).scaleb(-scale))
        stored, codes = check("decimal", scaled, scale=scale)
        assert codes == []
        assert isinstance(stored, str)
        assert len(stored.partition(".")[2]) == scale

    @given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
    def test_integers_store_as_themselves(self, number: int) -> None:
        assert check("integer", number) == (number, [])

    @given(st.integers(min_value=-JS_SAFE_INTEGER, max_value=JS_SAFE_INTEGER))
    def test_integral_floats_store_as_integers(self, number: int) -> None:
        stored, codes = check("integer", float(number))
        assert codes == []
        assert stored == number
        assert type(stored) is int

    @given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
    def test_digit_text_is_accepted_only_beyond_53_bits(self, number: int) -> None:
        stored, codes = check("integer", str(number))
        if abs(number) > JS_SAFE_INTEGER:
            assert (stored, codes) == (number, [])
        else:
            assert codes == ["type_mismatch"]
