"""Column type inference: each type, its formats, ties, hints, mixed columns (SPEC §6)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from domain.dataplane.inference import (
    COMMA,
    POINT,
    ColumnType,
    canonical_value,
    infer_column,
    infer_counts,
    name_hints,
)
from domain.ontology import Family


def infer(values: Sequence[str | None], name: str = "") -> ColumnType:
    return infer_column(values, name)


# -- the reference's published cases ----------------------------------------------


def test_whole_numbers_are_integers() -> None:
    assert infer(["1", "2", "3"]).type == "integer"


def test_fractions_are_decimals() -> None:
    assert infer(["1.5", "2.25"]).type == "decimal"


def test_true_false_yes_no_is_boolean() -> None:
    assert infer(["true", "false", "yes", "no"]).type == "boolean"


def test_iso_dates_are_dates_with_their_format() -> None:
    result = infer(["2024-01-15", "2024-02-20"])
    assert (result.type, result.format, result.ambiguous) == (
        "date",
        "YYYY-MM-DD",
        False,
    )


def test_korean_dates_without_zero_padding_are_dates() -> None:
    result = infer(["2024년 1월 15일"])
    assert (result.type, result.format) == ("date", "YYYY년 MM월 DD일")


def test_slash_dates_that_read_both_ways_are_flagged_ambiguous() -> None:
    result = infer(["01/02/2024", "03/04/2024"])
    assert (result.type, result.ambiguous) == ("date", True)
    assert "DD/MM/YYYY" in result.reason


def test_an_all_empty_column_is_string_with_full_confidence() -> None:
    result = infer(["", "  ", None, "\t"])
    assert (result.type, result.confidence) == ("string", 1.0)


# -- numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "notation"),
    [
        (["1,234.56", "2.5", "-3"], POINT),
        (["1.234,56", "2,5", "10"], COMMA),
        (["(12.50)", "3.00"], POINT),
    ],
)
def test_decimals_in_either_notation_and_accounting_negatives(
    values: list[str], notation: str
) -> None:
    result = infer(values)
    assert (result.type, result.format) == ("decimal", notation)


def test_accounting_negatives_convert_to_negative_amounts() -> None:
    assert canonical_value("decimal", POINT, "(1,234.50)") == "-1234.5"
    assert canonical_value("decimal", COMMA, "1.234,56") == "1234.56"


def test_a_value_that_reads_differently_in_each_notation_is_ambiguous() -> None:
    result = infer(["1.234", "2.345"])
    # 1.234 is a decimal with a point, or the integer 1234 grouped with a dot.
    assert result.type == "decimal"
    assert result.format == POINT


def test_leading_zeros_mark_identifiers_not_numbers() -> None:
    assert infer(["007", "012", "100"]).type != "integer"


def test_grouped_integers_are_integers() -> None:
    result = infer(["1,234", "56", "7,890,123"])
    assert result.type == "integer"
    assert canonical_value("integer", None, "7,890,123") == 7890123


# -- booleans -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        ["Y", "N", "y"],
        ["예", "아니오"],
        ["ja", "nein"],
        ["oui", "non"],
        ["sí", "no"],
        ["TRUE", "False", "1", "0"],
    ],
)
def test_boolean_words_in_several_languages(values: list[str]) -> None:
    assert infer(values).type == "boolean"


def test_a_column_of_only_zero_and_one_is_an_integer_with_a_tie_noted() -> None:
    result = infer(["0", "1", "1", "0"])
    assert result.type == "integer"
    assert result.confidence < 1
    assert "boolean" in result.reason


def test_a_boolean_name_turns_zero_and_one_into_a_boolean() -> None:
    for name in ("is_active", "has_children", "결제여부"):
        assert infer(["0", "1", "1"], name).type == "boolean", name


# -- dates and times ----------------------------------------------------------------


def test_a_day_above_twelve_settles_the_slash_order() -> None:
    result = infer(["01/02/2024", "25/12/2024"])
    assert (result.type, result.format, result.ambiguous) == (
        "date",
        "DD/MM/YYYY",
        False,
    )
    result = infer(["12/25/2024", "01/02/2024"])
    assert (result.format, result.ambiguous) == ("MM/DD/YYYY", False)


@pytest.mark.parametrize(
    ("values", "layout"),
    [
        (["15.01.2024", "3.2.2024"], "DD.MM.YYYY"),
        (["2024년 01월 15일", "2024년1월5일"], "YYYY년 MM월 DD일"),
        (["2024年01月15日", "2024年2月3日"], "YYYY年MM月DD日"),
    ],
)
def test_european_korean_and_japanese_date_layouts(
    values: list[str], layout: str
) -> None:
    result = infer(values)
    assert (result.type, result.format) == ("date", layout)


def test_impossible_dates_do_not_count() -> None:
    result = infer(["2024-02-30", "2024-01-15", "2024-01-16"])
    assert result.type == "date"
    assert result.confidence == pytest.approx(2 / 3, abs=1e-3)
    assert "2024-02-30" in result.reason


def test_datetimes_with_and_without_offset() -> None:
    aware = infer(["2024-01-15T10:00:00+09:00", "2024-01-15T10:00:00Z"])
    naive = infer(["2024-01-15 10:00:00", "2024-01-16T11:30"])
    assert (aware.type, aware.format) == ("datetime", "ISO-8601 with offset")
    assert (naive.type, naive.format) == ("datetime", "ISO-8601 without offset")
    assert canonical_value("datetime", None, "2024-01-15T10:00:00+09:00") == (
        "2024-01-15T01:00:00Z"
    )


def test_times_of_day() -> None:
    assert infer(["10:30", "23:59:59", "07:05"]).type == "time"
    assert infer(["2:30 PM", "11:00 am"]).format == "h:MM AM/PM"
    assert canonical_value("time", None, "2:30 PM") == "14:30:00"


# -- identifiers, contacts, money, json ---------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a@example.com", "b.c@example.org"], "email"),
        (["https://example.com/a", "http://example.org"], "url"),
        (["123e4567-e89b-12d3-a456-426614174000"], "uuid"),
        (["192.168.1.1", "10.0.0.255", "::1"], "ip"),
        (["+82 10-1234-5678", "(555) 123-4567", "555-1234"], "phone"),
        (['{"a": 1}', "[1, 2]"], "json"),
        (["hello world", "foo bar"], "string"),
    ],
)
def test_identifiers_contacts_and_json(values: list[str], expected: str) -> None:
    assert infer(values).type == expected


def test_money_with_symbols_and_iso_codes() -> None:
    symbols = infer(["$12.00", "€5", "£3.50", "¥100", "₩10,000"])
    codes = infer(["USD 12.00", "12.00 EUR", "(USD 3.00)"])
    assert (symbols.type, codes.type) == ("money", "money")
    assert canonical_value("money", None, "₩10,000") == {
        "amount": "10000",
        "currency": "KRW",
    }
    assert canonical_value("money", None, "($12.50)") == {
        "amount": "-12.5",
        "currency": "USD",
    }


def test_three_capital_letters_that_are_no_currency_are_not_money() -> None:
    assert infer(["ABC 12", "XYZ 3"]).type == "string"


def test_one_currency_is_the_format() -> None:
    assert infer(["$1", "$2.50"]).format == "USD"


# -- enums --------------------------------------------------------------------------


def test_few_values_repeated_over_many_rows_are_an_enum() -> None:
    values = ["PAID", "NEW", "SHIPPED", "PAID", "NEW"] * 4
    result = infer(values)
    assert result.type == "enum"
    assert "3 distinct values in 20" in result.reason


def test_too_few_rows_make_no_enum_without_a_hint() -> None:
    assert infer(["PAID", "NEW", "PAID", "NEW"]).type == "string"
    assert infer(["PAID", "NEW", "PAID", "NEW"], "status").type == "enum"
    assert infer(["A", "B", "A", "B"], "상태").type == "enum"


def test_whole_column_counts_decide_the_enum_rule_for_a_sample() -> None:
    # A sample of 3 values from a column of 1,000 rows with 900 distinct values.
    sample = {"x": 5, "y": 4, "z": 3}
    assert infer_counts(sample, non_null_total=1000, distinct_total=900).type == (
        "string"
    )
    assert infer_counts(sample, non_null_total=1000, distinct_total=3).type == "enum"


# -- mixed columns and hints --------------------------------------------------------


def test_a_mixed_column_takes_the_majority_and_names_counter_examples() -> None:
    result = infer(["1", "2", "3", "n/a", "unknown"])
    assert result.type == "integer"
    assert result.confidence == pytest.approx(0.6)
    assert "'n/a'" in result.reason
    assert "'unknown'" in result.reason


def test_shares_are_weighted_by_how_often_a_value_occurs() -> None:
    result = infer_counts({"7": 90, "a": 5, "b": 5})
    assert (result.type, result.confidence) == ("integer", 0.9)


def test_hints_raise_confidence_but_never_override_evidence() -> None:
    mixed = ["1.5", "2.5", "3.5", "oops"]
    assert infer(mixed, "price").confidence > infer(mixed).confidence
    assert infer(["hello", "world"], "email").type == "string"
    assert infer(["2024-01-15"], "is_deleted").type == "date"


def test_column_names_hint_in_english_and_korean() -> None:
    assert "email" in name_hints("이메일")
    assert {"money", "decimal"} <= name_hints("가격")
    assert "money" in name_hints("금액")
    assert "date" in name_hints("order_date") | name_hints("날짜")
    assert "date" in name_hints("date_of_birth")
    assert "boolean" in name_hints("isActive")
    assert "enum" in name_hints("category")


def test_every_inferred_type_is_an_ontology_type_name() -> None:
    names = {f.value for f in Family}
    samples = [
        ["1"], ["1.5"], ["yes"], ["$1"], ["2024-01-15"], ["2024-01-15T10:00Z"],
        ["10:30"], ["123e4567-e89b-12d3-a456-426614174000"], ["::1"], ["a@b.co"],
        ["https://a.b"], ["+1 555 123 4567"], ["[1]"], ["text"],
    ]  # fmt: skip
    assert {infer(v).type for v in samples} <= names
    assert infer(["x"] * 20).type in names


def test_confidence_is_always_between_zero_and_one() -> None:
    for values in (["1", "x"], ["0", "1"], ["a"], ["1", "1.5", "x", "y"]):
        for name in ("", "price", "is_x", "status"):
            assert 0 <= infer(values, name).confidence <= 1


def test_huge_cells_are_read_quickly_and_only_as_json_or_text() -> None:
    hostile = ["$" + "1," * 50_000 + "x", "1" * 100_000, "[" + "1," * 20_000 + "1]"]
    result = infer(hostile)
    assert result.type == "string"
    assert infer([hostile[2]]).type == "json"
