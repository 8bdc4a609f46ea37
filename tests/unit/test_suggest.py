"""Class suggestion: a ClassInput the ontology's own definition check accepts, with
keys, required fields, enum values, safe names and relationship candidates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from adapters.dataplane.profiling import profile_file
from domain.dataplane.profiles import ColumnProfile, DatasetProfile, ValueCount
from domain.dataplane.suggest import (
    class_id_for,
    property_names,
    relationship_candidates,
    romanise,
    suggest_class,
)
from domain.ontology import Ontology, validate_class_definition

CLIENTS = """
SELECT 'C' || i AS client_id, 'Client ' || i AS name,
       ['GOLD', 'SILVER'][1 + i % 2] AS tier
FROM range(1, 51) t(i)
"""
ORDERS = """
SELECT i AS id, 'C' || (1 + i % 50) AS client_id, printf('%.2f', i * 2.5) AS amount,
       CASE WHEN i % 4 = 0 THEN '' ELSE 'note ' || i END AS note,
       ['PAID', 'NEW'][1 + i % 2] AS status
FROM range(1, 201) t(i)
"""


def profile_of(tmp_path: Path, select: str, name: str) -> DatasetProfile:
    path = tmp_path / f"{name}.parquet"
    duckdb.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    return profile_file(path)


def assert_valid(class_input: dict[str, Any], ontology: Ontology | None = None) -> None:
    classdef, errors = validate_class_definition(
        ontology or Ontology(), class_input, is_update=False
    )
    assert errors == []
    assert classdef is not None


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DatasetProfile]:
    tmp = tmp_path_factory.mktemp("suggest")
    return {
        "clients": profile_of(tmp, CLIENTS, "clients"),
        "orders": profile_of(tmp, ORDERS, "orders"),
    }


def test_a_suggestion_is_a_class_input_the_ontology_accepts(
    profiles: dict[str, DatasetProfile],
) -> None:
    suggestion = suggest_class("clients", profiles["clients"])
    assert suggestion.input["id"] == "Client"
    assert suggestion.input["primaryKey"] == "client_id"
    assert suggestion.input["titleKey"] == "name"
    assert_valid(suggestion.input)


def test_types_required_flags_and_enum_values_come_from_the_profile(
    profiles: dict[str, DatasetProfile],
) -> None:
    props = {
        p["name"]: p
        for p in suggest_class("orders", profiles["orders"]).input["properties"]
    }
    assert props["amount"]["type"] == "decimal"
    assert props["amount"]["required"] is True
    assert "required" not in props["note"]
    assert props["status"]["type"] == "enum"
    assert sorted(props["status"]["constraints"]["values"]) == ["NEW", "PAID"]


def test_a_column_called_id_is_renamed_and_preferred_as_the_key(
    profiles: dict[str, DatasetProfile],
) -> None:
    suggestion = suggest_class("orders", profiles["orders"])
    assert suggestion.input["primaryKey"] == "order_id"
    assert suggestion.columns["id"] == "order_id"
    key = next(p for p in suggestion.input["properties"] if p["name"] == "order_id")
    assert (key["type"], key["label"]) == ("integer", "id")
    assert_valid(suggestion.input)


def test_foreign_keys_are_found_by_name_and_value_overlap(
    profiles: dict[str, DatasetProfile],
) -> None:
    clients = profiles["clients"].column("client_id")
    assert clients is not None
    others = {"clients": {"client_id": clients.value_sample}}
    found = relationship_candidates("orders", profiles["orders"], others)
    assert [(c.column, c.target, c.target_column) for c in found] == [
        ("client_id", "Client", "client_id")
    ]
    assert found[0].confidence == 1.0
    suggestion = suggest_class("orders", profiles["orders"], other_keys=others)
    assert suggestion.relationships == tuple(found)


def test_overlap_alone_finds_a_differently_named_reference() -> None:
    buyer = ColumnProfile(
        "buyer", "string", 1.0, "", distinct_count=3,
        value_sample=frozenset({"C1", "C2", "C3"}),
    )  # fmt: skip
    profile = DatasetProfile(3, (buyer,))
    found = relationship_candidates(
        "orders", profile, {"clients": {"client_id": {"C1", "C2", "C3", "C4"}}}
    )
    assert [(c.column, c.target, c.confidence) for c in found] == [
        ("buyer", "Client", 0.6)
    ]
    assert (
        relationship_candidates("orders", profile, {"clients": {"client_id": {"X"}}})
        == []
    )


def test_korean_and_other_non_ascii_names_become_safe_names() -> None:
    assert romanise("이메일") == "imeil"
    assert romanise("가격") == "gagyeok"
    names = property_names(
        ["이메일", "가격", "Prénom", "名前", "2nd score", "Order Date", "x", "X"],
        "Thing",
    )
    assert names == {
        "이메일": "imeil", "가격": "gagyeok", "Prénom": "prenom", "名前": "column_4",
        "2nd score": "c_2nd_score", "Order Date": "order_date", "x": "x", "X": "x_2",
    }  # fmt: skip
    assert class_id_for("order_items") == "OrderItem"
    assert class_id_for("고객") == "Gogaek"


def test_a_korean_dataset_suggests_a_valid_class() -> None:
    columns = (
        ColumnProfile("고객번호", "string", 1.0, "", distinct_count=2),
        ColumnProfile("이메일", "email", 1.0, "", distinct_count=2),
        ColumnProfile("상태", "enum", 1.0, "", distinct_count=2,
                      top_values=(ValueCount("활성", 1), ValueCount("휴면", 1))),
    )  # fmt: skip
    suggestion = suggest_class("고객", DatasetProfile(2, columns))
    assert suggestion.input["primaryKey"] == "gogaekbeonho"
    labels = {p["name"]: p.get("label") for p in suggestion.input["properties"]}
    assert labels == {"gogaekbeonho": "고객번호", "imeil": "이메일", "sangtae": "상태"}
    assert_valid(suggestion.input)


def test_without_a_unique_column_a_row_key_is_added_with_a_warning() -> None:
    columns = (
        ColumnProfile("city", "string", 1.0, "", null_count=0, distinct_count=2),
        ColumnProfile("score", "decimal", 0.8, "4 of 5 read as decimal", distinct_count=5),
    )  # fmt: skip
    suggestion = suggest_class("visits", DatasetProfile(10, columns))
    assert suggestion.input["primaryKey"] == "row_key"
    assert any("row_key" in w for w in suggestion.warnings)
    assert any("'score'" in w for w in suggestion.warnings)
    assert_valid(suggestion.input)


def test_a_suggestion_joins_an_ontology_that_has_other_classes(
    profiles: dict[str, DatasetProfile],
) -> None:
    client, _ = validate_class_definition(
        Ontology(), suggest_class("clients", profiles["clients"]).input, is_update=False
    )
    assert client is not None
    assert_valid(
        suggest_class("orders", profiles["orders"]).input, Ontology({"Client": client})
    )
