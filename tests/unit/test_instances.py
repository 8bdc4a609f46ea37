"""Instance writes validated against the ontology: create and patch rules."""

from __future__ import annotations

from typing import Any

import pytest

from domain.instances import (
    InstanceCheck,
    instance_aggregate_id,
    merge_patch,
    validate_instance,
)
from domain.ontology import (
    ClassDef,
    LocalizedText,
    Ontology,
    PropertyDef,
    validate_class_definition,
)


def define(ontology: Ontology, data: dict[str, Any]) -> Ontology:
    defined, errors = validate_class_definition(ontology, data, is_update=False)
    assert errors == [], errors
    assert defined is not None
    return ontology.with_class(defined)


def shop() -> Ontology:
    """Customer; Product (owned_by -> Customer n:1, tags -> Tag n:m, maker required 1:1);
    Item (abstract) <- Book; Legacy is deprecated; Counter has an integer key."""
    ontology = Ontology()
    for data in (
        {"id": "Customer", "primary_key": "customer_id", "properties": [{"name": "customer_id", "type": "string"}]},
        {"id": "Tag", "primary_key": "tag", "properties": [{"name": "tag", "type": "string"}]},
        {"id": "Maker", "primary_key": "code", "properties": [{"name": "code", "type": "string"}]},
        {
            "id": "Product",
            "primary_key": "product_id",
            "properties": [
                {"name": "product_id", "type": "string"},
                {"name": "name", "type": "string", "required": True, "constraints": {"maxLength": 20}},
                {"name": "price", "type": "decimal", "constraints": {"scale": 2}},
                {"name": "status", "type": "enum", "default": "draft", "constraints": {"enumValues": ["draft", "live"]}},
                {"name": "labels", "type": "array<string>", "default": ["new"]},
                {"name": "released", "type": "datetime"},
            ],
            "relationships": [
                {"predicate": "owned_by", "target": "Customer", "cardinality": "MANY_TO_ONE"},
                {"predicate": "tags", "target": "Tag", "cardinality": "n:m"},
                {"predicate": "maker", "target": "Maker", "cardinality": "1:1", "required": True},
            ],
        },
        {"id": "Item", "abstract": True, "primary_key": "sku", "properties": [{"name": "sku", "type": "string"}],
         "relationships": [{"predicate": "sold_by", "target": "Customer", "cardinality": "n:1"}]},
        {"id": "Book", "parent": "Item", "properties": [{"name": "isbn", "type": "string", "required": True}]},
        {"id": "Legacy", "deprecated": True, "primary_key": "legacy_id", "properties": [{"name": "legacy_id", "type": "string"}]},
        {"id": "Counter", "primary_key": "n", "properties": [{"name": "n", "type": "integer"}]},
    ):  # fmt: skip
        ontology = define(ontology, {"label": data["id"], **data})
    return ontology


def product(**overrides: Any) -> dict[str, Any]:
    return {"product_id": "P-1", "name": "Widget", "maker": "M1", **overrides}


def create(class_id: str, data: dict[str, Any]) -> InstanceCheck:
    return validate_instance(shop(), class_id, data, partial=False)


def patch(data: dict[str, Any], current: dict[str, Any] | None = None) -> InstanceCheck:
    return validate_instance(shop(), "Product", data, partial=True, current=current)


def errors_of(check: InstanceCheck) -> list[tuple[tuple[str, ...], str]]:
    return [(e.path, e.code) for e in check.errors]


class TestClassRules:
    @pytest.mark.parametrize(
        ("class_id", "code"),
        [
            ("Nobody", "unknown_class"),
            ("Item", "abstract_class"),
            ("Legacy", "deprecated_class"),
        ],
        ids=["unknown", "abstract", "deprecated"],
    )
    @pytest.mark.parametrize("partial", [False, True], ids=["create", "patch"])
    def test_refuses_writes_to_classes_without_instances(
        self, class_id: str, code: str, partial: bool
    ) -> None:
        check = validate_instance(shop(), class_id, {"x": 1}, partial=partial)
        assert errors_of(check) == [((), code)]
        assert (check.values, check.links, check.instance_id) == ({}, {}, None)
        assert not check.ok

    def test_a_class_without_a_primary_key_cannot_take_instances(self) -> None:
        keyless = ClassDef(
            "Loose",
            LocalizedText("Loose"),
            properties=(PropertyDef("x", shop().classes["Tag"].properties[0].type),),
        )
        check = validate_instance(
            Ontology({"Loose": keyless}), "Loose", {"x": "1"}, partial=False
        )
        assert errors_of(check) == [((), "missing_primary_key")]
        assert check.instance_id is None
        patched = validate_instance(
            Ontology({"Loose": keyless}), "Loose", {"x": "2"}, partial=True
        )
        assert (patched.errors, patched.instance_id) == ([], None)


class TestCreate:
    def test_normalises_values_applies_defaults_and_derives_the_id(self) -> None:
        check = create(
            "Product",
            product(
                price=9.9,
                released="2024-01-01T09:00:00+09:00",
                owned_by="C1",
                tags=["t1", "t2"],
            ),
        )
        assert check.ok
        assert check.values == {
            "product_id": "P-1",
            "name": "Widget",
            "price": "9.90",
            "released": "2024-01-01T00:00:00Z",
            "status": "draft",
            "labels": ["new"],
        }
        assert check.links == {
            "maker": ["M1"],
            "owned_by": ["C1"],
            "tags": ["t1", "t2"],
        }
        assert check.instance_id == "P-1"

    def test_given_values_win_over_defaults(self) -> None:
        check = create("Product", product(status="live", labels=[]))
        assert (check.values["status"], check.values["labels"]) == ("live", [])

    def test_defaults_are_copied_per_instance(self) -> None:
        first = create("Product", product())
        first.values["labels"].append("mutated")
        assert create("Product", product()).values["labels"] == ["new"]

    def test_null_means_absent_on_create(self) -> None:
        check = create(
            "Product", product(price=None, status=None, owned_by=None, tags=[])
        )
        assert check.ok
        assert "price" not in check.values
        assert check.values["status"] == "draft"
        assert check.links == {"maker": ["M1"]}

    @pytest.mark.parametrize(
        ("missing", "path"),
        [("product_id", "product_id"), ("name", "name"), ("maker", "maker")],
        ids=[
            "primary-key-is-implicitly-required",
            "required-property",
            "required-relationship",
        ],
    )
    def test_requires_required_members(self, missing: str, path: str) -> None:
        data = product()
        del data[missing]
        assert errors_of(create("Product", data)) == [((path,), "required")]

    def test_reports_unknown_keys(self) -> None:
        check = create("Product", product(colour="red", id="x"))
        assert errors_of(check) == [
            (("colour",), "unknown_property"),
            (("id",), "unknown_property"),
        ]

    def test_reports_value_errors_with_their_property_path(self) -> None:
        check = create(
            "Product",
            product(name="x" * 21, price="cheap", status="gone", labels=["a", 1]),
        )
        assert errors_of(check) == [
            (("name",), "max_length"),
            (("price",), "invalid_format"),
            (("status",), "enum_value"),
            (("labels", "1"), "type_mismatch"),
        ]

    def test_inherited_members_apply_to_subclasses(self) -> None:
        check = create("Book", {"sku": "B-1", "isbn": "978", "sold_by": "C1"})
        assert check.ok
        assert check.values == {"sku": "B-1", "isbn": "978"}
        assert check.links == {"sold_by": ["C1"]}
        assert check.instance_id == "B-1"

    def test_an_integer_key_becomes_a_text_id(self) -> None:
        check = create("Counter", {"n": 42})
        assert (check.values, check.instance_id) == ({"n": 42}, "42")

    @pytest.mark.parametrize(
        "key",
        ["has space", "slash/ed", "x" * 256, ""],
        ids=["space", "slash", "too-long", "empty"],
    )
    def test_rejects_keys_that_cannot_be_instance_ids(self, key: str) -> None:
        check = create("Product", product(product_id=key))
        assert errors_of(check) == [(("product_id",), "invalid_instance_id")]
        assert check.instance_id is None

    @pytest.mark.parametrize(
        "key", ["a", "A-1_b:c.d", "x" * 255], ids=["short", "punctuation", "longest"]
    )
    def test_accepts_keys_in_the_instance_id_alphabet(self, key: str) -> None:
        assert create("Product", product(product_id=key)).instance_id == key


class TestLinks:
    @pytest.mark.parametrize(
        ("links", "expected"),
        [
            ({"owned_by": ["C1"]}, [(("owned_by",), "cardinality")]),
            ({"owned_by": 7}, [(("owned_by",), "type_mismatch")]),
            ({"owned_by": "bad id"}, [(("owned_by",), "invalid_reference")]),
            ({"tags": "t1"}, [(("tags",), "type_mismatch")]),
            ({"tags": ["t1", 2]}, [(("tags", "1"), "type_mismatch")]),
            ({"tags": ["t1", "t 2"]}, [(("tags", "1"), "invalid_reference")]),
            ({"tags": ["t1", "t2", "t1"]}, [(("tags", "2"), "unique_items")]),
        ],
        ids=[
            "to-one-list",
            "to-one-not-text",
            "to-one-bad-id",
            "to-many-text",
            "to-many-item-type",
            "to-many-bad-id",
            "to-many-duplicate",
        ],
    )
    def test_checks_link_shapes_and_ids(
        self, links: dict[str, Any], expected: list[Any]
    ) -> None:
        check = create("Product", product(**links))
        assert errors_of(check) == expected
        assert set(check.links) == {"maker"}

    def test_accepts_tuples_for_to_many(self) -> None:
        assert create("Product", product(tags=("t1",))).links["tags"] == ["t1"]


class TestPatch:
    def test_absent_keys_are_unchanged(self) -> None:
        check = patch({"price": "5"})
        assert check.ok
        assert (check.values, check.links) == ({"price": "5.00"}, {})

    def test_defaults_do_not_apply_to_a_patch(self) -> None:
        assert "status" not in patch({"name": "New"}).values

    def test_explicit_null_clears(self) -> None:
        check = patch({"price": None, "owned_by": None, "tags": []})
        assert check.ok
        assert check.values == {"price": None}
        assert check.links == {"owned_by": [], "tags": []}

    @pytest.mark.parametrize(
        ("data", "path"),
        [
            ({"name": None}, "name"),
            ({"product_id": None}, "product_id"),
            ({"maker": None}, "maker"),
        ],
        ids=["required-property", "primary-key", "required-relationship"],
    )
    def test_clearing_a_required_member_is_required(
        self, data: dict[str, Any], path: str
    ) -> None:
        assert errors_of(patch(data)) == [((path,), "required")]

    def test_changing_the_primary_key_is_refused(self) -> None:
        check = patch({"product_id": "P-2"}, current={"product_id": "P-1"})
        assert errors_of(check) == [(("product_id",), "primary_key_immutable")]

    def test_repeating_the_primary_key_is_fine(self) -> None:
        check = patch(
            {"product_id": "P-1", "name": "Same"}, current={"product_id": "P-1"}
        )
        assert check.ok
        assert check.instance_id == "P-1"

    def test_the_id_comes_from_the_current_state(self) -> None:
        assert patch({"name": "x"}, current={"product_id": "P-1"}).instance_id == "P-1"

    def test_without_current_the_id_comes_from_the_patch_if_given(self) -> None:
        assert patch({"product_id": "P-9"}).instance_id == "P-9"
        assert patch({"name": "x"}).instance_id is None

    def test_a_patch_reports_unknown_keys_and_bad_values(self) -> None:
        check = patch({"nope": 1, "price": "x"})
        assert errors_of(check) == [
            (("nope",), "unknown_property"),
            (("price",), "invalid_format"),
        ]


class TestMergePatch:
    def test_sets_values_and_links_and_removes_cleared_ones(self) -> None:
        current = {
            "product_id": "P-1",
            "price": "1.00",
            "labels": ["a"],
            "tags": ["t1"],
            "owned_by": ["C1"],
        }
        merged = merge_patch(
            current,
            {"price": None, "name": "New", "labels": []},
            {"tags": ["t2"], "owned_by": []},
        )
        assert merged == {
            "product_id": "P-1",
            "labels": [],
            "tags": ["t2"],
            "name": "New",
        }

    def test_does_not_change_its_inputs(self) -> None:
        current = {"labels": ["a"]}
        values = {"extra": ["b"]}
        merged = merge_patch(current, values)
        merged["labels"].append("x")
        merged["extra"].append("y")
        assert current == {"labels": ["a"]}
        assert values == {"extra": ["b"]}


def test_instance_aggregate_id_joins_class_and_instance_ids() -> None:
    assert instance_aggregate_id("Product", "P-1") == "Product/P-1"
