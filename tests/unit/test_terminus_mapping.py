"""TerminusDB graph store, the pure parts: names, document keys, and the
NodeVersion <-> document mapping (no server needed)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.errors import StoreDataError
from adapters.graph_store.terminus.documents import (
    EDGE,
    NODE,
    SCHEMA,
    edge_documents,
    hash_row,
    key_of,
    node_document,
    version_documents,
    version_from_document,
)
from adapters.graph_store.terminus.names import (
    branch_id,
    database_id,
    edge_key,
    encode_name,
    owned_by,
    version_key,
)
from adapters.graph_store.terminus.scalars import (
    SCALAR,
    scalar_documents,
    sortable,
    sortable_float,
)
from domain.ports import NodeVersion
from tests.factories import node_version

# --- names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("main", "main"),
        ("feature/x", "feature_sx"),
        ("release-1.2", "release_h1_d2"),
        ("a_b", "a__b"),
        ("caf\u00e9", "caf_x0000e9"),
    ],
)
def test_spells_names_in_terminusdb_safe_characters(name: str, encoded: str) -> None:
    assert encode_name(name) == encoded
    assert branch_id(name) == encoded


def test_the_spelling_keeps_distinct_names_distinct() -> None:
    # Pairs a naive "replace by _" would merge.
    names = ["a_b", "a-b", "a.b", "a/b", "a__b", "a_sb", "a_hb", "a_db", "ab"]

    assert len({encode_name(n) for n in names}) == len(names)


def test_database_ids_carry_the_deployment_prefix() -> None:
    assert database_id("spice", "shop") == "spice_shop"
    assert database_id("spice", "my-shop_eu") == "spice_my_hshop__eu"
    assert owned_by("spice", "spice_shop")
    # A prefix has no "_", so another deployment's databases are not ours.
    assert not owned_by("spice", "spice2_shop")
    assert not owned_by("spice2", "spice_shop")


def test_keys_are_deterministic_and_name_one_version() -> None:
    key = version_key(
        db="shop", branch="main", class_id="Thing", instance_id="a", seq=1
    )
    same = version_key(
        db="shop", branch="main", class_id="Thing", instance_id="a", seq=1
    )
    others = {
        version_key(db="shop", branch="dev", class_id="Thing", instance_id="a", seq=1),
        version_key(db="shop", branch="main", class_id="Thing", instance_id="a", seq=2),
        version_key(
            db="other", branch="main", class_id="Thing", instance_id="a", seq=1
        ),
        version_key(db="shop", branch="main", class_id="Robot", instance_id="a", seq=1),
    }

    assert key == same
    assert len(key) == 64
    assert int(key, 16) >= 0  # hex: the same in a document id, unescaped
    assert key not in others
    assert len(others) == 4
    assert edge_key(key, "owner", "p") != edge_key(key, "owner", "q")
    assert edge_key(key, "owner", "p") != edge_key(key, "friend", "p")


# --- documents --------------------------------------------------------------------


def test_a_version_round_trips_through_its_document() -> None:
    version = NodeVersion(
        db="shop",
        branch="feature/x",
        class_id="Thing",
        instance_id="a:1",
        seq=3,
        position=42,
        deleted=False,
        values={"name": "Ada", "price": "9.99", "tags": ["x"], "nested": {"k": None}},
        links={"knows": ["b", "c"], "employer": ["acme"]},
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-02T00:00:00+00:00",
    )

    document = node_document(version)

    assert version_from_document(json.loads(json.dumps(document))) == version
    assert document["@type"] == NODE
    assert document["key"] == key_of(version)
    assert json.loads(document["vals"])["price"] == "9.99"


def test_absent_timestamps_are_left_out_of_the_document() -> None:
    document = node_document(node_version(instance_id="a"))

    assert "created_at" not in document
    assert "updated_at" not in document
    assert version_from_document(document).created_at is None


def test_values_are_stored_as_canonical_json() -> None:
    one = node_document(node_version(instance_id="a", values={"b": 1, "a": 2}))
    two = node_document(node_version(instance_id="a", values={"a": 2, "b": 1}))

    assert one["vals"] == two["vals"] == '{"a":2,"b":1}'


def test_edges_are_one_per_distinct_link_target() -> None:
    version = node_version(
        instance_id="a", seq=2, position=7, links={"owner": ["p", "p", "q"]}
    )

    edges = edge_documents(version)

    assert [(e["predicate"], e["dst_id"]) for e in edges] == [
        ("owner", "p"),
        ("owner", "q"),
    ]
    assert {e["@type"] for e in edges} == {EDGE}
    assert {
        (e["src_class"], e["src_id"], e["src_seq"], e["position"]) for e in edges
    } == {("Thing", "a", 2, 7)}
    assert edges[0]["key"] == edge_key(key_of(version), "owner", "p")


def test_a_tombstone_has_no_edges() -> None:
    version = node_version(instance_id="a", deleted=True, links={"owner": ["p"]})

    assert edge_documents(version) == []
    assert [d["@type"] for d in version_documents(version)] == [NODE]


def test_a_malformed_document_is_a_data_error() -> None:
    document = node_document(node_version(instance_id="a"))
    broken = {**document, "vals": "{not json"}
    missing = {k: v for k, v in document.items() if k != "seq"}
    wrong = {**document, "deleted": "no"}

    for bad in (broken, missing, wrong):
        with pytest.raises(StoreDataError):
            version_from_document(bad)


def test_hash_rows_follow_the_sql_store_fields() -> None:
    version = node_version(
        instance_id="a", seq=2, position=3, values={"v": 1}, links={"k": ("x",)}
    )

    assert hash_row(version) == [
        "shop", "Thing", "a", "main", 2, 3, False, {"v": 1}, {"k": ["x"]}, None, None
    ]  # fmt: skip


def test_the_schema_keys_both_classes_by_their_digest() -> None:
    context, node, edge, scalar = SCHEMA

    assert context["@type"] == "@context"
    assert (node["@id"], edge["@id"], scalar["@id"]) == (NODE, EDGE, SCALAR)
    for cls in (node, edge):
        assert cls["@key"] == {"@type": "Lexical", "@fields": ["key"]}
    assert "@subdocument" in scalar
    document_fields = set(node_document(node_version(instance_id="a"))) - {"@type"}
    assert document_fields <= set(node) - {"@id", "@type", "@key"}
    # Required, so a database of documents without scalars refuses this schema.
    assert node["layout"] == "xsd:integer"


class TestScalars:
    def test_each_non_null_value_is_a_scalar_of_its_type(self) -> None:
        values = {"t": "x", "n": 3, "f": 0.5, "b": True, "z": None, "o": [1]}

        found = {s["name"]: s for s in scalar_documents(values)}

        assert sorted(found) == ["b", "f", "n", "o", "t"]  # a null is absent
        assert found["t"]["text"] == "x"
        assert (found["n"]["whole"], found["n"]["number"]) == (
            True,
            sortable(Decimal(3)),
        )
        assert "whole" not in found["f"]
        assert found["b"]["boolean"] is True
        assert set(found["o"]) == {"@type", "name"}  # present, compares as nothing

    def test_texts_keep_instants_and_decimals_in_comparable_form(self) -> None:
        found = {
            s["name"]: s
            for s in scalar_documents(
                {"at": "2024-01-01T00:00:00Z", "price": "10.50", "x": "n/a"}
            )
        }

        assert found["at"]["instant"] == "2024-01-01T00:00:00"
        assert found["price"]["decimal"] == sortable(Decimal("10.5"))
        assert set(found["x"]) == {"@type", "name", "text"}

    @pytest.mark.parametrize(
        "numbers",
        [
            ["-1e20", "-10.5", "-10.25", "-10", "-1", "-0.125", "-0.12", "0", "0.1", "0.12", "0.125", "1", "9.99", "10", "10.5", "100"],
            [str(2**70), str(2**62 + 1), str(2**62)][::-1],
        ],
        ids=["mixed", "large integers"],
    )  # fmt: skip
    def test_sortable_text_orders_as_the_numbers(self, numbers: list[str]) -> None:
        decimals = [Decimal(n) for n in numbers]

        assert sorted(decimals, key=sortable) == sorted(decimals)
        assert sortable(Decimal("10.5")) == sortable(Decimal("10.50"))
        assert sortable(Decimal("-0")) == sortable(Decimal(0))

    def test_floats_sort_by_their_exact_value_among_integers(self) -> None:
        near = [2**53 + 1, float(2**53), 0.1, 1, -1.5, float("inf"), float("-inf")]

        ordered = sorted(
            near,
            key=lambda x: (
                sortable_float(x) if isinstance(x, float) else sortable(Decimal(x))
            ),
        )

        assert ordered == sorted(near)
        assert sortable_float(0.1) != sortable(Decimal("0.1"))  # 0.1 is not exact
