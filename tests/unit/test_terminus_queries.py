"""The TerminusDB graph store's WOQL: built with the official client's
builder, every caller value a typed literal (never a variable or a node), and
read back from result rows."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("terminusdb", reason="the [terminus] extra is not installed")

from adapters.errors import StoreDataError
from adapters.graph_store.terminus import woql
from adapters.graph_store.terminus.filters import Compiler, Declined
from adapters.graph_store.terminus.find import (
    SpanGraph,
    count_query,
    find_query,
)
from domain.queries import AllOf, AnyOf, Condition, Negated, SortKey

HOSTILE = ["v:Doc", "@schema:key", '"}]', "rdf:type", "v:Id"]


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


def names(query: Any, key: str) -> set[str]:
    """Every variable (key "variable") or node (key "node") the query names."""
    found: set[str] = set()

    def walk(part: Any) -> None:
        if isinstance(part, dict):
            if isinstance(part.get(key), str):
                found.add(part[key])
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
    skip = ("Value", "NodeValue", "DataValue", "OrderTemplate")
    return [t for t in types if t not in skip]


def assert_only_data(query: Any, benign: Any, values: list[Any]) -> None:
    """The values are literals of the query, which names the same variables and
    nodes as the benign query built from harmless values in their place."""
    found = literals(query)
    assert all(value in found for value in values)
    for key in ("variable", "node"):
        assert names(query, key) == names(benign, key)
    assert all(
        n == "rdf:type" or n.startswith("@schema:") for n in names(query, "node")
    )
    assert all(v.isidentifier() for v in names(query, "variable"))


def test_caller_values_are_only_typed_literals() -> None:
    query = woql.heads_query(HOSTILE, HOSTILE, bound=None)
    text = json.dumps(query)

    assert literals(query) == HOSTILE + HOSTILE
    benign = woql.heads_query(["a"] * 5, ["b"] * 5, bound=None)
    assert_only_data(query, benign, HOSTILE)
    assert '"node": "@schema:key"' not in text
    assert text.count('"node": "rdf:type"') == 1  # the query's own rdf:type


def test_literals_refuse_other_types() -> None:
    with pytest.raises(TypeError):
        woql.string({"@type": "Value", "variable": "X"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        woql.integer("5")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        woql.integer(True)
    with pytest.raises(TypeError):
        woql.boolean(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        woql.limit(-1, woql.always())


def test_heads_of_ids_start_from_the_ids_and_bound_the_position() -> None:
    query = woql.heads_query(["Thing", "Robot"], ["a", "b"], bound=10)

    assert query["@type"] == "Select"
    assert query["variables"] == ["Class", "Id", "Seq", "Deleted"]
    first, second = query["query"]["and"][:2]
    assert first == woql.built(woql.member("Id", [woql.string("a"), woql.string("b")]))
    assert second == woql.built(woql.field("Doc", "instance_id", woql.var("Id")))
    # position <= 10 as Position < 11, an integer literal
    less = woql.built(woql.less(woql.var("Position"), woql.integer(11)))
    assert less in query["query"]["and"]
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
    query = woql.ids_page_query(["Thing"], after_id="v:n2", bound=5, count=3)

    assert words(query)[:4] == ["Select", "Limit", "OrderBy", "Distinct"]
    assert query["query"]["limit"] == 3
    assert query["query"]["query"]["ordering"] == [
        {"@type": "OrderTemplate", "variable": "Id", "order": "asc"}
    ]
    assert literals(query) == ["Thing", 6, "v:n2"]
    benign = woql.ids_page_query(["T"], after_id="n2", bound=5, count=3)
    assert_only_data(query, benign, ["Thing", "v:n2"])


def test_edges_match_the_predicate_targets_and_classes() -> None:
    query = woql.edges_query(["Thing"], "v:owner", ["p", "@schema:q"], bound=None)

    assert query["variables"] == ["Class", "Id", "Seq", "Target"]
    assert literals(query) == ["p", "@schema:q", "v:owner", "Thing"]
    benign = woql.edges_query(["T"], "owner", ["p", "q"], bound=None)
    assert_only_data(query, benign, ["v:owner", "@schema:q"])


def test_documents_and_stored_keys_are_looked_up_by_key_literal() -> None:
    documents = woql.documents_query(["k1", "v:k2"])
    stored = woql.stored_keys_query(["k1"])

    assert literals(documents) == ["k1", "v:k2"]
    assert words(documents)[-1] == "ReadDocument"
    assert stored == woql.built(
        woql.select(
            ["Key"],
            woql.and_(
                woql.member("Key", [woql.string("k1")]),
                woql.field("Doc", "key", woql.var("Key")),
            ),
        )
    )


class TestFilters:
    SPANS = (SpanGraph("admin/t_db/local/branch/main", None),)

    def test_field_names_and_operands_stay_data(self) -> None:
        def query(a: str, b: str, c: str, d: str, e: str, f: str, g: str) -> Any:
            where = AllOf(
                (
                    Condition(a, "eq", b, "text"),
                    Condition(c, "starts_with", d, "text"),
                    AnyOf((Condition(None, "in", [e], "text"), Negated(Condition(f, "is_null", True, "integer")))),
                )
            )  # fmt: skip
            order = [SortKey(g, True, "text")]
            return find_query(
                self.SPANS, [a], where=where, order=order, offset=0, limit=5
            )

        hostile = [
            "v:Doc",
            "@schema:key",
            "@schema:x",
            "v:Part1",
            "v:Id",
            "v:Y",
            "v:Seq",
        ]
        benign = query(*"abcdefg")

        assert_only_data(query(*hostile), benign, hostile)

    def test_numbers_compare_as_sortable_text(self) -> None:
        query = count_query(self.SPANS, ["Thing"], Condition("qty", "gt", 5, "integer"))

        assert "2" + "5000000001" + "5" in literals(query)  # 0.5 x 10^1
        assert words(query)[:2] == ["Select", "Count"]

    @pytest.mark.parametrize(
        ("where", "order"),
        [
            (Condition("name", "regex", object(), "text"), []),
            (Condition("at", "contains", "2024", "datetime"), []),
            (Condition("ok", "gt", False, "boolean"), []),
            (Condition("qty", "eq", "3", "integer"), []),
            (Condition("name", "eq", "\U0001f600", "text"), []),
            (Condition("blob", "is_null", False, "other"), [SortKey("blob", False, "other")]),
            (None, [SortKey("name", False, "text", via=(object(),))]),  # type: ignore[arg-type]
        ],
        ids=["regex", "text op on instants", "order on booleans", "operand type", "astral", "other kind", "related sort"],
    )  # fmt: skip
    def test_declines_what_it_cannot_evaluate_exactly(
        self, where: Any, order: Any
    ) -> None:
        with pytest.raises(Declined):
            find_query(
                self.SPANS, ["Thing"], where=where, order=order, offset=0, limit=5
            )

    def test_a_filter_binds_nothing_and_holds_once(self) -> None:
        test = woql.built(Compiler().where(AnyOf((Condition("a", "eq", "x", "text"),))))

        assert words(test)[:2] == ["Not", "Not"]


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
