"""Profiling whole files with DuckDB: counts, typed ranges, histograms, top values."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from adapters.dataplane.profiling import profile_file
from domain.dataplane.profiles import ColumnProfile, DatasetProfile

ORDERS = """
SELECT
  'O' || lpad(i::VARCHAR, 5, '0') AS order_id,
  CASE WHEN i % 10 = 0 THEN '' WHEN i % 10 = 1 THEN '   ' ELSE (i % 7)::VARCHAR END AS qty,
  printf('%.2f', i * 1.25) AS price,
  strftime(DATE '2024-01-01' + (i % 31)::INTEGER, '%Y-%m-%d') AS order_date,
  ['PAID', 'NEW', 'SHIPPED'][1 + i % 3] AS status,
  'user' || i || '@example.com' AS email
FROM range(1, 1001) t(i)
"""


def write_parquet(tmp_path: Path, select: str, name: str = "data") -> Path:
    path = tmp_path / f"{name}.parquet"
    duckdb.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    return path


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> DatasetProfile:
    return profile_file(write_parquet(tmp_path_factory.mktemp("orders"), ORDERS))


def column(profile: DatasetProfile, name: str) -> ColumnProfile:
    found = profile.column(name)
    assert found is not None
    return found


def test_the_profile_counts_every_row_and_every_column(orders: DatasetProfile) -> None:
    assert orders.row_count == 1000
    assert [c.name for c in orders.columns] == [
        "order_id", "qty", "price", "order_date", "status", "email",
    ]  # fmt: skip


def test_empty_and_blank_cells_are_null_and_not_distinct(
    orders: DatasetProfile,
) -> None:
    qty = column(orders, "qty")
    assert qty.null_count == 200
    assert qty.distinct_count == 7  # 0..6
    assert (qty.type, qty.min, qty.max) == ("integer", 0, 6)


def test_a_unique_key_column_has_as_many_distinct_values_as_rows(
    orders: DatasetProfile,
) -> None:
    key = column(orders, "order_id")
    assert (key.type, key.null_count, key.distinct_count) == ("string", 0, 1000)
    assert key.unique


def test_decimal_min_and_max_are_exact_decimal_text(orders: DatasetProfile) -> None:
    price = column(orders, "price")
    assert (price.type, price.min, price.max) == ("decimal", "1.25", "1250")


def test_numeric_histograms_cover_every_non_null_value(orders: DatasetProfile) -> None:
    price, qty = column(orders, "price"), column(orders, "qty")
    assert sum(b.count for b in price.histogram) == 1000
    assert sum(b.count for b in qty.histogram) == 800
    assert len(price.histogram) == 10
    assert price.histogram[0].bucket.startswith("[1.25, ")


def test_dates_get_iso_min_max_and_day_buckets(orders: DatasetProfile) -> None:
    when = column(orders, "order_date")
    assert (when.type, when.format) == ("date", "YYYY-MM-DD")
    assert (when.min, when.max) == ("2024-01-01", "2024-01-31")
    assert sum(b.count for b in when.histogram) == 1000
    assert all(isinstance(b.low, str) and len(b.low) == 10 for b in when.histogram)


def test_enum_columns_list_every_value_with_its_count(orders: DatasetProfile) -> None:
    status = column(orders, "status")
    assert status.type == "enum"
    assert {(v.value, v.count) for v in status.top_values} == {
        ("PAID", 333), ("NEW", 334), ("SHIPPED", 333),
    }  # fmt: skip


def test_text_columns_get_samples_and_top_ten(orders: DatasetProfile) -> None:
    email = column(orders, "email")
    assert email.type == "email"
    assert 0 < len(email.samples) <= 5
    assert len(email.top_values) == 10
    assert email.histogram == ()


def test_typed_parquet_columns_profile_like_text(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path,
        "SELECT i AS n, i / 4 AS ratio, DATE '2024-03-01' + i::INTEGER AS day, "
        "NULL::VARCHAR AS nothing FROM range(0, 100) t(i)",
    )
    profile = profile_file(path)
    n, ratio, day, nothing = profile.columns
    assert (n.type, n.min, n.max) == ("integer", 0, 99)
    assert (ratio.type, ratio.min, ratio.max) == ("decimal", "0", "24.75")
    assert (day.type, day.min, day.max) == ("date", "2024-03-01", "2024-06-08")
    assert (nothing.type, nothing.confidence, nothing.null_count) == (
        "string",
        1.0,
        100,
    )


def test_csv_files_profile_too(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        'name,birthday,score\nKim,2024년 1월 5일,"1,234.50"\n'
        "Lee,2024년 12월 25일,(12.00)\nPark, ,3\n",
        encoding="utf-8",
    )
    profile = profile_file(path)
    birthday, score = column(profile, "birthday"), column(profile, "score")
    assert (birthday.type, birthday.null_count) == ("date", 1)
    assert (birthday.min, birthday.max) == ("2024-01-05", "2024-12-25")
    assert (score.type, score.min, score.max) == ("decimal", "-12", "1234.5")


def test_european_decimals_and_slash_dates_convert_in_sql(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path,
        "SELECT * FROM (VALUES ('1.234,50', '25/12/2024'), ('7,25', '01/02/2024'), "
        "('(3,00)', '13/01/2024')) v(amount, day)",
    )
    amount, day = profile_file(path).columns
    assert (amount.format, amount.min, amount.max) == ("1.234,56", "-3", "1234.5")
    assert (day.format, day.min, day.max) == ("DD/MM/YYYY", "2024-01-13", "2024-12-25")


def test_an_unknown_file_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        profile_file(tmp_path / "book.xlsx")


def test_datetimes_with_offsets_order_by_instant(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path,
        "SELECT * FROM (VALUES ('2024-01-15T10:00:00+09:00'), ('2024-01-15T02:00:00Z'),"
        " ('2024-01-14T20:00:00-05:00')) v(created_at)",
    )
    (created,) = profile_file(path).columns
    assert (created.type, created.format) == ("datetime", "ISO-8601 with offset")
    assert (created.min, created.max) == (
        "2024-01-15T01:00:00Z",
        "2024-01-15T02:00:00Z",
    )
    assert sum(b.count for b in created.histogram) == 3


def test_money_min_and_max_are_amounts(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path, "SELECT * FROM (VALUES ('$1,200.00'), ('($5.50)'), ('$30')) v(price)"
    )
    (price,) = profile_file(path).columns
    assert (price.type, price.format, price.min, price.max) == (
        "money", "USD", "-5.5", "1200",
    )  # fmt: skip


def test_an_empty_file_and_odd_column_names_profile_cleanly(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path, 'SELECT 1 AS "it""s", \'x\' AS "가격 (원)" WHERE false'
    )
    profile = profile_file(path)
    assert profile.row_count == 0
    assert [(c.name, c.type, c.null_count, c.min) for c in profile.columns] == [
        ('it"s', "string", 0, None), ("가격 (원)", "string", 0, None),
    ]  # fmt: skip
