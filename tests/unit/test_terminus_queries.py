"""The TerminusDB graph store's WOQL: built from typed literals, in the shapes
the official client produces, and read back from result rows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.errors import StoreDataError
from adapters.graph_store.terminus import woql


def literals(query: Any) -> list[Any]:
    """Every typed literal value in a query, in order."""
    found: list[Any] = []

    def walk(part: Any) -> None:
        if isinstance(part, dict):
            if "@value" in part:
                found.append(part["@value"])
            for item in part.values():
                walk(item)
        elif isinstance(part, list):
            for item in part:
                walk(item)

    walk(query)
    return found


def words(query: Any) -> list[str]:
    """The WOQL words of a query, depth first."""
    text = json.dumps(query)
    types = [t.split('"')[0] for t in text.split('"@type": "')[1:]]
    return [t for t in types if t not in ("Value", "NodeValue", "OrderTemplate")]


def test_caller_values_are_only_typed_literals() -> None:
    hostile = ["v:Doc", "@schema:key", '"}]', "rdf:type"]

    query = woql.heads_query(hostile, hostile, bound=None)
    text = json.dumps(query)

    assert literals(query) == hostile + hostile
    # None of them became a variable or a node of the query.
    assert '"variable": "v:Doc"' not in text
    assert '"node": "@schema:key"' not in text
    assert '"node": "rdf:type"' in text  # the query's own rdf:type, once
    assert text.count('"node": "rdf:type"') == 1


def test_literals_refuse_other_types() -> None:
    with pytest.raises(TypeError):
        woql.string({"@type": "Value", "variable": "X"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        woql.integer("5")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        woql.integer(True)


def test_heads_of_ids_start_from_the_ids_and_bound_the_position() -> None:
    query = woql.heads_query(["Thing", "Robot"], ["a", "b"], bound=10)

    assert query["@type"] == "Select"
    assert query["variables"] == ["Class", "Id", "Seq", "Deleted"]
    first, second = query["query"]["and"][:2]
    assert first == woql.member("Id", [woql.string("a"), woql.string("b")])
    assert second == woql.field("Doc", "instance_id", woql.var("Id"))
    # position <= 10 as Position < 11, an integer literal
    assert woql.less(woql.var("Position"), woql.integer(11)) in query["query"]["and"]
    assert literals(query) == ["a", "b", "Thing", "Robot", 11]


def test_heads_of_a_whole_class_have_no_id_list_and_no_bound() -> None:
    query = woql.heads_query(["Thing"], None, bound=None)

    assert literals(query) == ["Thing"]
    assert "Less" not in words(query)
    assert words(query) == [
        "Select", "And", "Member", "xsd:string", "Triple", "Triple", "Triple",
        "Triple", "Triple",
    ]  # fmt: skip


def test_a_page_of_ids_is_distinct_ordered_and_limited() -> None:
    query = woql.ids_page_query(["Thing"], after_id="n2", bound=5, count=3)

    assert words(query)[:4] == ["Select", "Limit", "OrderBy", "Distinct"]
    assert query["query"]["limit"] == 3
    assert query["query"]["query"]["ordering"] == [
        {"@type": "OrderTemplate", "variable": "Id", "order": "asc"}
    ]
    conditions = query["query"]["query"]["query"]["query"]["and"]
    assert woql.greater(woql.var("Id"), woql.string("n2")) in conditions
    assert literals(query) == ["Thing", 6, "n2"]


def test_edges_match_the_predicate_targets_and_classes() -> None:
    query = woql.edges_query(["Thing"], "owner", ["p", "q"], bound=None)

    assert query["variables"] == ["Class", "Id", "Seq", "Target"]
    assert literals(query) == ["p", "q", "owner", "Thing"]
    assert woql.is_a("Edge", "Edge") in query["query"]["and"]


def test_documents_and_stored_keys_are_looked_up_by_key_literal() -> None:
    documents = woql.documents_query(["k1", "k2"])
    stored = woql.stored_keys_query(["k1"])

    assert literals(documents) == ["k1", "k2"]
    assert words(documents)[-1] == "ReadDocument"
    assert stored == woql.select(
        ["Key"],
        woql.and_(
            woql.member("Key", [woql.string("k1")]),
            woql.field("Doc", "key", woql.var("Key")),
        ),
    )


class TestResultRows:
    def test_reads_literals_and_plain_values(self) -> None:
        row = {
            "Id": {"@type": "xsd:string", "@value": "a"},
            "Seq": {"@type": "xsd:integer", "@value": 3},
            "Big": {"@type": "xsd:integer", "@value": "12345678901234567890"},
            "Deleted": {"@type": "xsd:boolean", "@value": False},
            "Json": {"@type": "NodeVersion", "key": "k"},
        }

        assert woql.text(row, "Id") == "a"
        assert woql.number(row, "Seq") == 3
        assert woql.number(row, "Big") == 12345678901234567890
        assert woql.flag(row, "Deleted") is False
        assert woql.value(row, "Json") == {"@type": "NodeVersion", "key": "k"}

    @pytest.mark.parametrize(
        ("row", "read"),
        [
            ({}, woql.text),
            ({"X": {"@value": 3}}, woql.text),
            ({"X": {"@value": "three"}}, woql.number),
            ({"X": {"@value": True}}, woql.number),
            ({"X": {"@value": "true"}}, woql.flag),
        ],
        ids=["missing", "not text", "not a number", "bool as number", "text as flag"],
    )
    def test_an_unexpected_row_is_a_data_error(self, row: Any, read: Any) -> None:
        with pytest.raises(StoreDataError):
            read(row, "X")


def test_the_words_match_the_official_client_builder() -> None:
    """Same JSON-LD as terminusdb's WOQLQuery for every word used here."""
    pytest.importorskip("terminusdb", reason="the [terminus] extra is not installed")
    from terminusdb import WOQLQuery as W

    s = {"@type": "xsd:string", "@value": "Thing"}
    i = {"@type": "xsd:integer", "@value": 11}
    triple = W().triple("v:Doc", "@schema:class_id", s)
    pairs = [
        (woql.field("Doc", "class_id", woql.string("Thing")), triple),
        (woql.is_a("Doc", "NodeVersion"), W().triple("v:Doc", "rdf:type", "@schema:NodeVersion")),
        (woql.member("Class", [woql.string("Thing")]), W().member("v:Class", [s])),
        (woql.less(woql.var("Pos"), woql.integer(11)), W().less("v:Pos", i)),
        (woql.greater(woql.var("Id"), woql.string("Thing")), W().greater("v:Id", s)),
        (woql.read_document("Doc", "Json"), W().read_document("v:Doc", "v:Json")),
        (woql.select(["A"], woql.field("Doc", "class_id", woql.string("Thing"))), W().select("v:A", triple)),
        (woql.distinct(["A"], woql.field("Doc", "class_id", woql.string("Thing"))), W().distinct("v:A", triple)),
        (woql.limit(3, woql.field("Doc", "class_id", woql.string("Thing"))), W().limit(3, triple)),
        (woql.order_by(["A"], woql.field("Doc", "class_id", woql.string("Thing"))), W().order_by("v:A").triple("v:Doc", "@schema:class_id", s)),
        (woql.and_(woql.field("Doc", "class_id", woql.string("Thing")), woql.is_a("Doc", "Edge")), W().woql_and(triple, W().triple("v:Doc", "rdf:type", "@schema:Edge"))),
    ]  # fmt: skip

    for ours, theirs in pairs:
        assert ours == theirs.to_dict()
