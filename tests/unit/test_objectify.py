"""Objectify's pure parts: mapping validation, the row gates, the run status, the diff."""

from __future__ import annotations

from typing import Any

from domain.dataplane.mapping import (
    MappingSpec,
    render_template,
    template_columns,
    validate_mapping,
)
from domain.dataplane.objectify import (
    FAILED,
    PARTIAL,
    SUCCEEDED,
    Item,
    Plan,
    Row,
    diff_items,
    plan_objectify,
    targets_first,
)
from domain.ontology import Ontology, validate_class_definition

COLUMNS = ["order_id", "line_no", "sku", "qty", "email", "paid", "at", "customer"]


def define(ontology: Ontology, data: dict[str, Any]) -> Ontology:
    defined, errors = validate_class_definition(ontology, data, is_update=False)
    assert errors == [], errors
    assert defined is not None
    return ontology.with_class(defined)


def shop() -> Ontology:
    """Customer; Record (abstract, holds `line_key`) <- OrderLine with a required
    sku, a unique email, an n:1 `customer` link and a min-1 qty."""
    ontology = Ontology()
    for data in (
        {
            "id": "Customer",
            "primary_key": "customer_id",
            "properties": [{"name": "customer_id", "type": "string"}],
        },
        {
            "id": "Record",
            "abstract": True,
            "primary_key": "line_key",
            "properties": [{"name": "line_key", "type": "string"}],
        },
        {
            "id": "OrderLine",
            "parent": "Record",
            "properties": [
                {"name": "sku", "type": "string", "required": True},
                {"name": "qty", "type": "integer", "constraints": {"minimum": 1}},
                {"name": "email", "type": "email", "unique": True},
                {"name": "paid", "type": "boolean"},
                {"name": "at", "type": "datetime"},
            ],
            "relationships": [
                {"predicate": "customer", "target": "Customer", "cardinality": "n:1"}
            ],
        },
    ):
        ontology = define(ontology, data)
    return ontology


def spec(**overrides: Any) -> MappingSpec:
    raw: dict[str, Any] = {
        "id": "lines",
        "dataset": "orders",
        "classId": "OrderLine",
        "properties": [
            {"column": c, "property": c} for c in ("sku", "qty", "email", "paid", "at")
        ],
        "relationships": [{"column": "customer", "predicate": "customer"}],
        "computed": [{"template": "{order_id}-{line_no}", "property": "line_key"}],
        "timezone": "Asia/Seoul",
    }
    raw.update(overrides)
    return MappingSpec.from_input(raw)


def row(n: int, **cells: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "order_id": "O1",
        "line_no": str(n),
        "sku": f"SKU-{n}",
        "qty": "2",
        "email": f"buyer{n}@example.com",
        "paid": "yes",
        "at": "2026-12-07T09:00:00",
        "customer": "C1",
    }
    base.update(cells)
    return base


def plan(
    rows: list[Row],
    *,
    allow_partial: bool = False,
    known: frozenset[str] = frozenset({"C1"}),
    max_errors: int = 1000,
) -> Plan:
    return plan_objectify(
        shop(),
        spec(),
        rows,
        exists=lambda _class_id, ids: ids & known,
        allow_partial=allow_partial,
        max_errors=max_errors,
    )


def codes(result: Plan) -> list[tuple[int, str | None, str]]:
    return [(e.row, e.column, e.code) for e in result.errors]


# --- mapping validation -------------------------------------------------------


def test_a_complete_mapping_has_no_problems() -> None:
    assert validate_mapping(shop(), spec(), COLUMNS) == []


def test_mapping_problems_name_the_input_path() -> None:
    bad = spec(
        properties=[
            {"column": "nope", "property": "sku"},
            {"column": "qty", "property": "weight"},
        ],
        relationships=[{"column": "customer", "predicate": "supplier"}],
        computed=[{"template": "{order_id}-{missing}", "property": "line_key"}],
        timezone="Mars/Olympus",
    )
    found = {(e.path, e.code) for e in validate_mapping(shop(), bad, COLUMNS)}
    assert found == {
        (("properties", "0", "column"), "unknown_column"),
        (("properties", "1", "property"), "unknown_property"),
        (("relationships", "0", "predicate"), "unknown_relationship"),
        (("computed", "0", "template"), "unknown_column"),
        (("timezone",), "unknown_timezone"),
    }


def test_a_mapping_without_the_primary_key_or_a_required_property_is_refused() -> None:
    bad = spec(properties=[{"column": "qty", "property": "qty"}], computed=[])
    found = {e.code for e in validate_mapping(shop(), bad, COLUMNS)}
    assert found == {"unmapped_primary_key", "unmapped_required"}


def test_an_unknown_or_abstract_class_is_refused() -> None:
    assert [
        e.code for e in validate_mapping(shop(), spec(classId="Nope"), COLUMNS)
    ] == ["unknown_class"]
    codes_ = [e.code for e in validate_mapping(shop(), spec(classId="Record"), COLUMNS)]
    assert "abstract_class" in codes_


def test_inherited_properties_can_be_mapped() -> None:
    inherited = spec(
        properties=[
            {"column": "sku", "property": "sku"},
            {"column": "order_id", "property": "line_key"},
        ],
        computed=[],
        relationships=[],
    )
    assert validate_mapping(shop(), inherited, COLUMNS) == []


def test_templates_render_from_cells_and_refuse_format_specs() -> None:
    assert template_columns("{a}-{b}") == ["a", "b"]
    assert template_columns("{a:>3}") is None
    assert template_columns("{a") is None
    assert render_template("{a}-{b}", {"a": "1", "b": "2"}) == "1-2"
    assert render_template("{a}-{b}", {"a": "1", "b": None}) is None


def test_a_mapping_round_trips_through_its_input_form() -> None:
    assert MappingSpec.from_input(spec().as_input()) == spec()


# --- the gates ----------------------------------------------------------------


def test_valid_rows_become_typed_instances() -> None:
    result = plan([row(1), row(2)])
    assert (result.status, result.rows, result.rejected) == (SUCCEEDED, 2, 0)
    first = result.items[0]
    assert first.instance_id == "O1-1"
    assert first.values["qty"] == 2
    assert first.values["paid"] is True
    assert first.values["at"] == "2026-12-07T00:00:00Z"  # read in Asia/Seoul
    assert first.links == {"customer": ["C1"]}


def test_a_missing_primary_key_fails_the_run_and_writes_nothing() -> None:
    result = plan([row(1), row(2, line_no=" ")])
    assert result.status == FAILED
    assert result.items == []
    assert codes(result) == [(2, "{order_id}-{line_no}", "missing_primary_key")]


def test_a_duplicate_primary_key_rejects_the_later_row() -> None:
    result = plan([row(1), row(2, line_no="1", email="other@example.com")])
    assert (result.status, result.rejected) == (FAILED, 1)
    assert codes(result) == [(2, None, "duplicate_primary_key")]


def test_a_duplicate_unique_value_rejects_the_later_row() -> None:
    result = plan([row(1), row(2, email="buyer1@example.com")])
    assert codes(result) == [(2, "email", "duplicate_unique")]


def test_a_missing_required_value_is_reported_on_its_column() -> None:
    result = plan([row(1, sku="")])
    assert codes(result) == [(1, "sku", "required")]


def test_type_and_constraint_violations_use_the_mutation_codes() -> None:
    result = plan(
        [
            row(1, qty="many"),
            row(2, qty="0"),
            row(3, email="nope"),
            row(4, paid="maybe"),
        ]
    )
    assert codes(result) == [
        (1, "qty", "type_mismatch"),
        (2, "qty", "minimum"),
        (3, "email", "invalid_format"),
        (4, "paid", "type_mismatch"),
    ]
    assert result.rejected == 4


def test_an_unknown_relationship_target_is_rejected() -> None:
    result = plan([row(1, customer="C404")])
    assert codes(result) == [(1, "customer", "dangling_reference")]


def test_a_target_created_in_the_same_run_counts_as_existing() -> None:
    ontology = define(
        shop(),
        {
            "id": "Node",
            "primary_key": "node_id",
            "properties": [{"name": "node_id", "type": "string"}],
            "relationships": [
                {"predicate": "parent", "target": "Node", "cardinality": "n:1"}
            ],
        },
    )
    nodes = MappingSpec.from_input(
        {
            "id": "nodes",
            "dataset": "nodes",
            "classId": "Node",
            "properties": [{"column": "id", "property": "node_id"}],
            "relationships": [{"column": "parent", "predicate": "parent"}],
        }
    )
    rows: list[Row] = [
        {"id": "a", "parent": "b"},
        {"id": "b", "parent": None},
        {"id": "c", "parent": "x"},  # x exists nowhere
        {"id": "d", "parent": "c"},  # c is rejected, so d dangles too
    ]
    result = plan_objectify(
        ontology, nodes, rows, exists=lambda _k, _ids: set(), allow_partial=True
    )
    assert [i.instance_id for i in result.items] == ["a", "b"]
    assert codes(result) == [
        (3, "parent", "dangling_reference"),
        (4, "parent", "dangling_reference"),
    ]


def test_allow_partial_writes_the_valid_rows_and_keeps_the_first_of_a_key() -> None:
    rows: list[Row] = [
        row(1),
        row(2, qty="x"),
        row(3, line_no="1", sku="LATER", email="c@example.com"),
    ]
    result = plan(rows, allow_partial=True)
    assert result.status == PARTIAL
    assert [(i.row, i.values["sku"]) for i in result.items] == [(1, "SKU-1")]
    assert codes(result) == [
        (2, "qty", "type_mismatch"),
        (3, None, "duplicate_primary_key"),
    ]


def test_rows_are_numbered_from_one_without_the_header() -> None:
    result = plan([row(1), row(2), row(3, qty="bad")])
    assert [e.row for e in result.errors] == [3]


def test_the_error_list_is_capped_but_every_rejected_row_is_counted() -> None:
    rows: list[Row] = [row(n, qty="bad") for n in range(1, 51)]
    result = plan(rows, max_errors=10)
    assert (len(result.errors), result.rejected) == (10, 50)
    assert [e.row for e in result.errors] == list(range(1, 11))


def test_whitespace_cells_are_null() -> None:
    result = plan([row(1, qty="  ", paid="\t")])
    assert result.status == SUCCEEDED
    assert "qty" not in result.items[0].values


# --- the diff -------------------------------------------------------------------


def stored(item_values: dict[str, Any], links: dict[str, Any]) -> dict[str, Any]:
    return {"class_id": "OrderLine", "values": item_values, "links": links}


def test_re_running_the_same_rows_changes_nothing() -> None:
    result = plan([row(1), row(2)])
    current = {i.instance_id: stored(i.values, i.links) for i in result.items}
    changes = diff_items(shop(), spec(), result.items, current)
    assert (len(changes.created), len(changes.updated), changes.unchanged) == (0, 0, 2)


def test_a_changed_row_patches_only_its_changed_members() -> None:
    before = plan([row(1), row(2)])
    current = {i.instance_id: stored(i.values, i.links) for i in before.items}
    after = plan([row(1, qty="5", paid=""), row(2), row(3)])
    changes = diff_items(shop(), spec(), after.items, current)
    assert [i.instance_id for i in changes.created] == ["O1-3"]
    assert [patch for _, patch in changes.updated] == [
        {"line_key": "O1-1", "qty": 5, "paid": None}
    ]
    assert changes.unchanged == 1


def test_an_instance_of_another_class_under_the_key_is_a_row_error() -> None:
    result = plan([row(1)])
    current = {"O1-1": {"class_id": "Other", "values": {}, "links": {}}}
    changes = diff_items(shop(), spec(), result.items, current)
    assert [(e.row, e.code) for e in changes.errors] == [(1, "class_mismatch")]


def test_targets_come_before_the_items_naming_them() -> None:
    def item(instance_id: str, parent: str | None) -> Item:
        links = {"parent": [parent]} if parent else {}
        return Item(0, instance_id, {}, {}, links)

    items = [item("a", "b"), item("b", "c"), item("c", None), item("d", "a")]
    ordered = targets_first(items, ["parent"])
    assert [i.instance_id for i in ordered] == ["c", "b", "a", "d"]
