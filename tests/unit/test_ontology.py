"""The ontology: localized text, the class model, (de)serialisation, definition rules,
lint and breaking changes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationFailed
from domain.ontology import (
    Cardinality,
    ClassDef,
    DanglingPolicy,
    Family,
    InverseDef,
    InverseLink,
    LintIssue,
    LocalizedText,
    Ontology,
    PropertyDef,
    PropertyType,
    RelationshipDef,
    breaking_changes,
    class_from_dict,
    class_to_dict,
    lint,
    validate_class_definition,
)

STRING = PropertyType(Family.STRING)


# -- builders -------------------------------------------------------------------------


def prop(name: str = "name", type: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type, **extra}


def rel(
    predicate: str = "owned_by",
    target: str = "Customer",
    cardinality: str = "n:1",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "predicate": predicate,
        "target": target,
        "cardinality": cardinality,
        **extra,
    }


def class_input(
    id: str = "Item",
    *,
    key: str | None = "product_id",
    properties: list[Any] | None = None,
    relationships: list[Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    default_properties = (
        [prop(key, required=True), prop("name")] if key else [prop("name")]
    )
    return {
        "id": id,
        "label": id,
        "primary_key": key,
        "properties": default_properties if properties is None else properties,
        "relationships": relationships or [],
        **extra,
    }


def classdef(
    id: str,
    *,
    properties: tuple[PropertyDef, ...] = (),
    relationships: tuple[RelationshipDef, ...] = (),
    **extra: Any,
) -> ClassDef:
    fields = {"label": LocalizedText(id), **extra}
    return ClassDef(id=id, properties=properties, relationships=relationships, **fields)


def define(
    ontology: Ontology, data: dict[str, Any], *, is_update: bool = False
) -> Ontology:
    defined, errors = validate_class_definition(ontology, data, is_update=is_update)
    assert errors == []
    assert defined is not None
    return ontology.with_class(defined)


def problems(
    ontology: Ontology, data: object, *, is_update: bool = False
) -> list[tuple[tuple[str, ...], str]]:
    defined, errors = validate_class_definition(ontology, data, is_update=is_update)  # type: ignore[arg-type]
    assert (defined is None) == bool(errors)
    return [(e.path, e.code) for e in errors]


def shop() -> Ontology:
    """Customer <- Product (owned_by, inverse owns); Animal (abstract) <- Dog; Legacy is deprecated."""
    ontology = define(Ontology(), class_input("Customer", key="customer_id"))
    ontology = define(
        ontology,
        class_input("Product", relationships=[rel(inverse={"predicate": "owns"})]),
    )
    ontology = define(
        ontology,
        class_input(
            "Animal",
            abstract=True,
            relationships=[rel("kept_by", cardinality="n:1")],
            key="animal_id",
        ),
    )
    ontology = define(
        ontology,
        class_input("Dog", key=None, parent="Animal", properties=[prop("breed")]),
    )
    legacy = class_input("Legacy", key="legacy_id", deprecated=True)
    return define(ontology, legacy)


# -- localized text -------------------------------------------------------------------


class TestLocalizedText:
    def test_a_plain_string_is_the_default_without_translations(self) -> None:
        text = LocalizedText.of("Product")
        assert text == LocalizedText("Product", {})
        assert str(text) == "Product"

    def test_a_language_map_prefers_english_as_the_default(self) -> None:
        text = LocalizedText.of({"ko": "제품", "en": "Product"})
        assert text.default == "Product"
        assert text.translations == {"ko": "제품", "en": "Product"}

    def test_a_language_map_without_english_defaults_to_its_first_entry(self) -> None:
        assert LocalizedText.of({"ko": "제품", "ja": "製品"}).default == "제품"

    def test_extra_translations_join_the_map(self) -> None:
        text = LocalizedText.of("Product", {"ko": "제품"})
        assert text == LocalizedText("Product", {"ko": "제품"})

    @pytest.mark.parametrize(
        ("lang", "expected"),
        [
            ("ko", "제품"),
            ("KO", "제품"),
            ("ko-KR", "제품"),
            ("ko_KR", "제품"),
            ("pt-BR", "Produto (BR)"),
            ("pt", "Produto"),
            ("fr", "Product"),
            (None, "Product"),
            ("", "Product"),
        ],
        ids=[
            "exact",
            "case",
            "region",
            "underscore",
            "region-exact",
            "primary",
            "missing",
            "none",
            "empty",
        ],
    )
    def test_resolves_a_language_with_fallbacks(
        self, lang: str | None, expected: str
    ) -> None:
        text = LocalizedText(
            "Product", {"ko": "제품", "pt": "Produto", "pt-BR": "Produto (BR)"}
        )
        assert text.resolve(lang) == expected


# -- enums ----------------------------------------------------------------------------


class TestCardinality:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("1:1", Cardinality.ONE_TO_ONE),
            ("1:n", Cardinality.ONE_TO_MANY),
            ("1:N", Cardinality.ONE_TO_MANY),
            ("n:1", Cardinality.MANY_TO_ONE),
            ("N:M", Cardinality.MANY_TO_MANY),
            ("ONE_TO_ONE", Cardinality.ONE_TO_ONE),
            ("one_to_many", Cardinality.ONE_TO_MANY),
            (" MANY_TO_ONE ", Cardinality.MANY_TO_ONE),
            ("MANY_TO_MANY", Cardinality.MANY_TO_MANY),
        ],
        ids=[
            "1:1",
            "1:n",
            "1:N",
            "n:1",
            "N:M",
            "ONE_TO_ONE",
            "lower-name",
            "padded",
            "MANY_TO_MANY",
        ],
    )
    def test_parses_ratio_and_name_forms(self, raw: str, expected: Cardinality) -> None:
        assert Cardinality.parse(raw) is expected

    @pytest.mark.parametrize(
        "raw", ["many", "n:n", "", 1, None], ids=["word", "n:n", "empty", "int", "none"]
    )
    def test_rejects_anything_else(self, raw: object) -> None:
        with pytest.raises(ValueError, match="invalid cardinality"):
            Cardinality.parse(raw)

    @pytest.mark.parametrize(
        ("cardinality", "to_many", "shared"),
        [
            (Cardinality.ONE_TO_ONE, False, False),
            (Cardinality.ONE_TO_MANY, True, False),
            (Cardinality.MANY_TO_ONE, False, True),
            (Cardinality.MANY_TO_MANY, True, True),
        ],
        ids=["1:1", "1:n", "n:1", "n:m"],
    )
    def test_knows_which_side_holds_many(
        self, cardinality: Cardinality, to_many: bool, shared: bool
    ) -> None:
        assert cardinality.to_many is to_many
        assert cardinality.shared_targets is shared


class TestDanglingPolicy:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("reject", DanglingPolicy.REJECT),
            ("ALLOW", DanglingPolicy.ALLOW),
            (" Allow ", DanglingPolicy.ALLOW),
        ],
        ids=["reject", "ALLOW", "padded"],
    )
    def test_parses_case_insensitively(
        self, raw: str, expected: DanglingPolicy
    ) -> None:
        assert DanglingPolicy.parse(raw) is expected

    @pytest.mark.parametrize("raw", ["ignore", 0], ids=["word", "int"])
    def test_rejects_unknown_policies(self, raw: object) -> None:
        with pytest.raises(ValueError, match="invalid dangling policy"):
            DanglingPolicy.parse(raw)


# -- the model ------------------------------------------------------------------------


def hierarchy() -> Ontology:
    """Thing <- Product <- (Book, Food <- Fruit); Thing and Product declare properties."""
    thing = classdef(
        "Thing",
        abstract=True,
        primary_key="code",
        title_key="title",
        properties=(PropertyDef("code", STRING), PropertyDef("title", STRING)),
        relationships=(RelationshipDef("made_by", "Maker"),),
    )
    product = classdef(
        "Product",
        parent="Thing",
        properties=(
            PropertyDef("title", STRING, required=True),
            PropertyDef("price", PropertyType(Family.DECIMAL)),
        ),
        relationships=(
            RelationshipDef("made_by", "Maker", cardinality=Cardinality.MANY_TO_MANY),
        ),
    )
    maker = classdef(
        "Maker",
        primary_key="name",
        properties=(PropertyDef("name", STRING),),
        relationships=(
            RelationshipDef("flagship", "Product", inverse=InverseDef("flagship_of")),
            RelationshipDef("mentor", "Maker", inverse=InverseDef("mentees")),
            RelationshipDef("partner", "Maker"),
        ),
    )
    review = classdef(
        "Review",
        primary_key="id_",
        properties=(PropertyDef("id_", STRING),),
        relationships=(
            RelationshipDef("about", "Thing", inverse=InverseDef("reviews")),
        ),
    )
    return Ontology(
        {
            c.id: c
            for c in (
                thing,
                product,
                maker,
                review,
                classdef("Book", parent="Product", primary_key="isbn"),
                classdef("Food", parent="Product"),
                classdef("Fruit", parent="Food"),
            )
        }
    )


class TestOntologyModel:
    def test_get_returns_the_class_or_none(self) -> None:
        ontology = hierarchy()
        assert ontology.get("Book") is ontology.classes["Book"]
        assert ontology.get("Nope") is None
        assert "Book" in ontology
        assert "Nope" not in ontology

    def test_ancestors_run_from_parent_to_root(self) -> None:
        assert hierarchy().ancestors("Fruit") == ("Food", "Product", "Thing")
        assert hierarchy().ancestors("Thing") == ()
        assert hierarchy().ancestors("Nope") == ()

    def test_ancestors_stop_at_a_missing_parent(self) -> None:
        ontology = Ontology({"A": classdef("A", parent="Ghost")})
        assert ontology.ancestors("A") == ("Ghost",)

    def test_ancestors_stop_at_a_cycle(self) -> None:
        ontology = Ontology(
            {
                "A": classdef("A", parent="B"),
                "B": classdef("B", parent="C"),
                "C": classdef("C", parent="B"),
            }
        )
        assert ontology.ancestors("A") == ("B", "C")
        assert ontology.ancestors("B") == ("C",)

    def test_subclasses_are_transitive_breadth_first(self) -> None:
        assert hierarchy().subclasses("Thing") == (
            "Thing",
            "Product",
            "Book",
            "Food",
            "Fruit",
        )
        assert hierarchy().subclasses("Product", include_self=False) == (
            "Book",
            "Food",
            "Fruit",
        )
        assert hierarchy().subclasses("Fruit", include_self=False) == ()

    def test_subclasses_terminate_on_a_cycle(self) -> None:
        ontology = Ontology(
            {"A": classdef("A", parent="B"), "B": classdef("B", parent="A")}
        )
        assert ontology.subclasses("A") == ("A", "B")
        assert ontology.subclasses("A", include_self=False) == ("B",)

    def test_effective_properties_put_inherited_first_and_let_own_override_in_place(
        self,
    ) -> None:
        props = hierarchy().effective_properties("Book")
        assert [p.name for p in props] == ["code", "title", "price"]
        assert props[1].required is True

    def test_effective_relationships_override_by_predicate(self) -> None:
        rels = hierarchy().effective_relationships("Fruit")
        assert [(r.predicate, r.cardinality) for r in rels] == [
            ("made_by", Cardinality.MANY_TO_MANY)
        ]

    def test_an_unknown_class_has_no_members(self) -> None:
        assert hierarchy().effective_properties("Nope") == ()
        assert hierarchy().effective_property("Book", "nope") is None

    def test_keys_are_inherited_from_the_nearest_declaring_ancestor(self) -> None:
        ontology = hierarchy()
        assert ontology.primary_key_of("Fruit") == "code"
        assert ontology.primary_key_of("Book") == "isbn"
        assert ontology.title_key_of("Fruit") == "title"
        assert ontology.primary_key_of("Nope") is None

    def test_inverse_relationships_include_those_aimed_at_ancestors(self) -> None:
        links = hierarchy().inverse_relationships_of("Book")
        assert [(link.source_class, link.predicate) for link in links] == [
            ("Maker", "flagship_of"),
            ("Review", "reviews"),
        ]

    def test_inverse_relationships_cover_self_references_but_skip_those_without_inverse(
        self,
    ) -> None:
        links = hierarchy().inverse_relationships_of("Maker")
        assert [(link.source_class, link.relationship.predicate) for link in links] == [
            ("Maker", "mentor")
        ]

    def test_an_inverse_link_without_inverse_has_an_empty_predicate(self) -> None:
        assert InverseLink("Maker", RelationshipDef("partner", "Maker")).predicate == ""

    def test_with_and_without_class_return_new_ontologies(self) -> None:
        ontology = hierarchy()
        extra = classdef(
            "Extra", primary_key="k", properties=(PropertyDef("k", STRING),)
        )
        grown = ontology.with_class(extra)
        shrunk = grown.without_class("Book")
        assert "Extra" in grown
        assert "Extra" not in ontology
        assert "Book" not in shrunk
        assert "Book" in grown
        assert ontology == hierarchy()

    def test_own_member_lookup(self) -> None:
        product = hierarchy().classes["Product"]
        assert product.own_property("price") is not None
        assert product.own_property("code") is None
        assert product.own_relationship("made_by") is not None
        assert product.own_relationship("nope") is None


# -- (de)serialisation ----------------------------------------------------------------


NON_TEXT_KEY: dict[Any, Any] = {**class_input(), 7: "x"}


class TestClassDicts:
    def test_reads_camel_case_class_input(self) -> None:
        data = {
            "id": "Product",
            "label": "Product",
            "labelI18n": {"ko": "제품"},
            "primaryKey": "product_id",
            "titleKey": "name",
            "properties": [
                {"name": "product_id", "type": "string"},
                {"name": "name", "type": "str"},
            ],
            "relationships": [
                {
                    "predicate": "owned_by",
                    "target": "Customer",
                    "cardinality": "MANY_TO_ONE",
                    "danglingPolicy": "ALLOW",
                }
            ],
        }
        parsed = class_from_dict(data)
        assert parsed.label == LocalizedText("Product", {"ko": "제품"})
        assert parsed.primary_key == "product_id"
        assert parsed.title_key == "name"
        assert parsed.properties[1].type == STRING
        assert parsed.relationships[0].dangling_policy is DanglingPolicy.ALLOW

    def test_writes_every_field_in_snake_case(self) -> None:
        product = class_from_dict(
            class_input(
                "Product",
                relationships=[rel(inverse={"predicate": "owns", "label": "Owns"})],
            )
        )
        assert class_to_dict(product) == {
            "id": "Product",
            "label": "Product",
            "description": None,
            "parent": None,
            "abstract": False,
            "primary_key": "product_id",
            "title_key": None,
            "properties": [
                {"name": "product_id", "type": "string", "label": None, "required": True, "unique": False,
                 "default": None, "description": None, "constraints": {}},
                {"name": "name", "type": "string", "label": None, "required": False, "unique": False,
                 "default": None, "description": None, "constraints": {}},
            ],
            "relationships": [
                {"predicate": "owned_by", "target": "Customer", "label": None, "cardinality": "n:1",
                 "inverse": {"predicate": "owns", "label": "Owns"}, "required": False,
                 "dangling_policy": "reject"},
            ],
            "deprecated": False,
        }  # fmt: skip

    def test_writes_translations_beside_the_default(self) -> None:
        data = class_input(
            "Product",
            label={"en": "Product", "ko": "제품"},
            description="Things we sell",
        )
        written = class_to_dict(class_from_dict(data))
        assert written["label"] == "Product"
        assert written["label_i18n"] == {"en": "Product", "ko": "제품"}
        assert written["description"] == "Things we sell"
        assert "description_i18n" not in written

    def test_the_label_defaults_to_the_id(self) -> None:
        data = class_input()
        del data["label"]
        assert class_from_dict(data).label == LocalizedText("Item")

    def test_translations_alone_make_a_label(self) -> None:
        data = {**class_input(), "label": None, "label_i18n": {"ko": "제품"}}
        assert class_from_dict(data).label == LocalizedText("제품", {"ko": "제품"})

    def test_an_empty_translation_map_is_no_translation(self) -> None:
        assert class_from_dict(
            {**class_input(), "label_i18n": {}}
        ).label == LocalizedText("Item")

    def test_a_later_spelling_of_a_key_wins(self) -> None:
        data = {**class_input(), "primary_key": "old", "primaryKey": "name"}
        assert class_from_dict(data).primary_key == "name"

    def test_missing_cardinality_is_required(self) -> None:
        data = class_input(
            relationships=[{"predicate": "owned_by", "target": "Customer"}]
        )
        with pytest.raises(ValidationFailed) as failure:
            class_from_dict(data)
        assert [(e.path, e.code) for e in failure.value.errors] == [
            (("relationships", "0", "cardinality"), "required")
        ]

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ("not an object", [((), "type_mismatch"), (("id",), "required")]),
            ({"label": "x"}, [(("id",), "required")]),
            ({"id": 5}, [(("id",), "type_mismatch")]),
            ({**class_input(), "colour": "red"}, [(("colour",), "unknown_field")]),
            (NON_TEXT_KEY, [(("7",), "unknown_field")]),
            ({**class_input(), "abstract": "yes"}, [(("abstract",), "type_mismatch")]),
            ({**class_input(), "label": 5}, [(("label",), "type_mismatch")]),
            ({**class_input(), "label": {}}, [(("label",), "type_mismatch")]),
            ({**class_input(), "label": {"en": 1}}, [(("label",), "type_mismatch")]),
            ({**class_input(), "label_i18n": "ko"}, [(("label_i18n",), "type_mismatch")]),
            ({**class_input(), "properties": "name"}, [(("properties",), "type_mismatch")]),
            (class_input(properties=["name"]), [(("properties", "0"), "type_mismatch"), (("properties", "0", "name"), "required"), (("properties", "0", "type"), "required")]),
            (class_input(properties=[prop(type="varchar")]), [(("properties", "0", "type"), "unknown_type")]),
            (class_input(properties=[prop(constraints=[1])]), [(("properties", "0", "constraints"), "invalid_constraint")]),
            (class_input(properties=[prop(required="yes")]), [(("properties", "0", "required"), "type_mismatch")]),
            (class_input(relationships=[rel(cardinality="many")]), [(("relationships", "0", "cardinality"), "invalid_cardinality")]),
            (class_input(relationships=[rel(dangling_policy="ignore")]), [(("relationships", "0", "dangling_policy"), "invalid_dangling_policy")]),
            (class_input(relationships=[{"predicate": "x", "cardinality": "n:1"}]), [(("relationships", "0", "target"), "required")]),
            (class_input(relationships=[rel(inverse={"label": "x"})]), [(("relationships", "0", "inverse", "predicate"), "required")]),
            (class_input(relationships=[rel(inverse={"predicate": "owns", "extra": 1})]), [(("relationships", "0", "inverse", "extra"), "unknown_field")]),
        ],
        ids=[
            "not-object", "no-id", "id-not-text", "unknown-field", "non-text-key", "flag-not-bool",
            "label-not-text", "label-empty-map", "label-map-not-text", "i18n-not-map", "properties-not-list",
            "property-not-object", "unknown-type", "constraints-not-object", "required-not-bool",
            "bad-cardinality", "bad-dangling-policy", "no-target", "inverse-without-predicate", "inverse-unknown-field",
        ],
    )  # fmt: skip
    def test_reports_structural_errors_with_paths(
        self, data: Any, expected: list[tuple[tuple[str, ...], str]]
    ) -> None:
        with pytest.raises(ValidationFailed) as failure:
            class_from_dict(data)
        assert [(e.path, e.code) for e in failure.value.errors] == expected

    def test_does_not_alias_the_input(self) -> None:
        data = class_input(
            properties=[
                prop(
                    "tags",
                    "array<string>",
                    default=["a"],
                    constraints={"enumValues": ["a"]},
                )
            ],
            key=None,
            abstract=True,
        )
        parsed = class_from_dict(data)
        data["properties"][0]["default"].append("b")
        data["properties"][0]["constraints"]["enumValues"].append("b")
        assert parsed.properties[0].default == ["a"]
        assert parsed.properties[0].constraints == {"enumValues": ["a"]}


names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
class_ids = st.from_regex(r"[A-Z][A-Za-z0-9]{0,8}", fullmatch=True)
texts = st.text(max_size=8)
localized = st.builds(
    LocalizedText,
    texts,
    st.dictionaries(st.sampled_from(["en", "ko", "de-AT"]), texts, max_size=2),
)
scalar_types = st.sampled_from(
    [PropertyType(f) for f in Family if f is not Family.ARRAY]
)
property_types = scalar_types | scalar_types.map(
    lambda t: PropertyType(Family.ARRAY, t)
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3)
    ),
    max_leaves=8,
)
property_defs = st.builds(
    PropertyDef,
    name=names,
    type=property_types,
    label=st.none() | localized,
    required=st.booleans(),
    unique=st.booleans(),
    default=json_values,
    description=st.none() | localized,
    constraints=st.dictionaries(
        st.sampled_from(["minLength", "maximum", "enumValues"]), json_values, max_size=2
    ),
)
relationship_defs = st.builds(
    RelationshipDef,
    predicate=names,
    target=class_ids,
    label=st.none() | localized,
    cardinality=st.sampled_from(Cardinality),
    inverse=st.none() | st.builds(InverseDef, names, st.none() | localized),
    required=st.booleans(),
    dangling_policy=st.sampled_from(DanglingPolicy),
)
class_defs = st.builds(
    ClassDef,
    id=class_ids,
    label=localized,
    description=st.none() | localized,
    parent=st.none() | class_ids,
    abstract=st.booleans(),
    primary_key=st.none() | names,
    title_key=st.none() | names,
    properties=st.lists(property_defs, max_size=3).map(tuple),
    relationships=st.lists(relationship_defs, max_size=3).map(tuple),
    deprecated=st.booleans(),
)


class TestRoundTrip:
    @given(class_defs)
    def test_class_from_dict_reads_class_to_dict_back_exactly(
        self, defined: ClassDef
    ) -> None:
        assert class_from_dict(class_to_dict(defined)) == defined

    @given(class_defs)
    def test_the_dict_survives_json(self, defined: ClassDef) -> None:
        assert (
            class_from_dict(json.loads(json.dumps(class_to_dict(defined)))) == defined
        )


# -- definition rules -----------------------------------------------------------------


Expected = list[tuple[tuple[str, ...], str]]
P1 = ("properties", "1")
R0 = ("relationships", "0")

DEFINITION_ERRORS: list[tuple[str, dict[str, Any], Expected]] = [
    ("invalid_class_id-digit", class_input("1Product"), [(("id",), "invalid_class_id")]),
    ("invalid_class_id-dash", class_input("Pro-duct"), [(("id",), "invalid_class_id")]),
    ("invalid_class_id-empty", class_input(""), [(("id",), "invalid_class_id")]),
    ("invalid_class_id-long", class_input("P" * 101), [(("id",), "invalid_class_id")]),
    ("class_exists", class_input("Customer", key="customer_id"), [(("id",), "class_exists")]),
    ("invalid_property_name", class_input(properties=[prop("product_id"), prop("unit-price")]), [((*P1, "name"), "invalid_property_name")]),
    ("invalid_property_name-digit", class_input(properties=[prop("product_id"), prop("1st")]), [((*P1, "name"), "invalid_property_name")]),
    ("reserved_name-id", class_input(properties=[prop("product_id"), prop("id")]), [((*P1, "name"), "reserved_name")]),
    ("reserved_name-meta", class_input(properties=[prop("product_id"), prop("_meta")]), [((*P1, "name"), "reserved_name")]),
    ("reserved_name-dunder", class_input(properties=[prop("product_id"), prop("__typename")]), [((*P1, "name"), "reserved_name")]),
    ("reserved_name-predicate", class_input(relationships=[rel("id")]), [((*R0, "predicate"), "reserved_name")]),
    ("duplicate_property", class_input(properties=[prop("product_id"), prop("name"), prop("name", "text")]), [(("properties", "2", "name"), "duplicate_property")]),
    ("duplicate_relationship", class_input(relationships=[rel(), rel(cardinality="n:m")]), [(("relationships", "1", "predicate"), "duplicate_relationship")]),
    ("property_relationship_clash", class_input(relationships=[rel("name")]), [((*R0, "predicate"), "property_relationship_clash")]),
    ("unknown_type", class_input(properties=[prop("product_id"), prop(type="varchar", constraints={"x": 1})]), [((*P1, "type"), "unknown_type")]),
    ("unknown_constraint", class_input(properties=[prop("product_id"), prop(constraints={"minimum": 1})]), [((*P1, "constraints", "minimum"), "unknown_constraint")]),
    ("invalid_constraint", class_input(properties=[prop("product_id"), prop(constraints={"pattern": "("})]), [((*P1, "constraints", "pattern"), "invalid_constraint")]),
    ("invalid_default", class_input(properties=[prop("product_id"), prop("qty", "integer", default="many")]), [((*P1, "default"), "invalid_default")]),
    ("invalid_default-constraint", class_input(properties=[prop("product_id"), prop("qty", "integer", default=0, constraints={"minimum": 1})]), [((*P1, "default"), "invalid_default")]),
    ("invalid_default-item", class_input(properties=[prop("product_id"), prop("tags", "array<int>", default=[1, "x"])]), [((*P1, "default", "1"), "invalid_default")]),
    ("unknown_target_class", class_input(relationships=[rel(target="Nobody")]), [((*R0, "target"), "unknown_target_class")]),
    ("target_is_deprecated", class_input(relationships=[rel(target="Legacy")]), [((*R0, "target"), "target_is_deprecated")]),
    ("invalid_cardinality", class_input(relationships=[rel(cardinality="lots")]), [((*R0, "cardinality"), "invalid_cardinality")]),
    ("invalid_predicate", class_input(relationships=[rel("owned-by")]), [((*R0, "predicate"), "invalid_predicate")]),
    ("invalid_predicate-inverse", class_input(relationships=[rel(inverse={"predicate": "is owned"})]), [((*R0, "inverse", "predicate"), "invalid_predicate")]),
    ("unknown_parent", class_input(key=None, parent="Nobody"), [(("parent",), "unknown_parent"), (("primary_key",), "missing_primary_key")]),
    ("cyclic_inheritance-self", class_input(parent="Item"), [(("parent",), "cyclic_inheritance")]),
    ("parent_is_deprecated", class_input(parent="Legacy"), [(("parent",), "parent_is_deprecated")]),
    ("missing_primary_key", class_input(key=None), [(("primary_key",), "missing_primary_key")]),
    ("missing_primary_key-unknown", class_input(properties=[prop("name")]), [(("primary_key",), "missing_primary_key")]),
    ("invalid_primary_key-type", class_input(properties=[prop("product_id", "float")]), [(("primary_key",), "invalid_primary_key")]),
    ("invalid_primary_key-array", class_input(properties=[prop("product_id", "array<string>")]), [(("primary_key",), "invalid_primary_key")]),
    ("invalid_primary_key-default", class_input(properties=[prop("product_id", default="P1")]), [(("primary_key",), "invalid_primary_key")]),
    ("unknown_title_key", class_input(title_key="headline"), [(("title_key",), "unknown_title_key")]),
    ("inverse_clash-target-property", class_input(relationships=[rel(inverse={"predicate": "name"})]), [((*R0, "inverse", "predicate"), "inverse_clash")]),
    ("inverse_clash-other-inverse", class_input("Order", key="order_id", relationships=[rel("buyer", inverse={"predicate": "owns"})]), [((*R0, "inverse", "predicate"), "inverse_clash")]),
    ("inverse_clash-own-twice", class_input("Order", key="order_id", relationships=[rel("buyer", inverse={"predicate": "orders"}), rel("payer", inverse={"predicate": "orders"})]), [(("relationships", "1", "inverse", "predicate"), "inverse_clash")]),
    ("inverse_clash-subclass-field", class_input("Vet", key="vet_id", relationships=[rel("treats", "Animal", "n:m", inverse={"predicate": "breed"})]), [((*R0, "inverse", "predicate"), "inverse_clash")]),
    ("inverse_clash-self-forward", class_input("Person", key="person_id", relationships=[rel("knows", "Person", "n:m", inverse={"predicate": "knows"})]), [((*R0, "inverse", "predicate"), "inverse_clash")]),
    ("override_type_mismatch", class_input("Puppy", key=None, parent="Dog", properties=[prop("breed", "integer")]), [(("properties", "0", "type"), "override_type_mismatch")]),
    ("property_relationship_clash-inherited", class_input("Puppy", key=None, parent="Dog", properties=[prop("kept_by")]), [(("properties", "0", "name"), "property_relationship_clash")]),
]  # fmt: skip


class TestValidateClassDefinition:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [(d, e) for _, d, e in DEFINITION_ERRORS],
        ids=[i for i, _, _ in DEFINITION_ERRORS],
    )
    def test_reports_each_definition_error_with_its_path(
        self, data: dict[str, Any], expected: Expected
    ) -> None:
        assert problems(shop(), data) == expected

    def test_structural_errors_are_reported_too(self) -> None:
        assert problems(shop(), {"label": "no id"}) == [(("id",), "required")]
        assert problems(shop(), {**class_input(), "colour": "red"}) == [
            (("colour",), "unknown_field")
        ]

    def test_update_of_an_unknown_class_is_unknown_class(self) -> None:
        assert problems(shop(), class_input("Nobody"), is_update=True) == [
            (("id",), "unknown_class")
        ]

    def test_update_that_makes_inheritance_cyclic_is_rejected(self) -> None:
        data = class_input("Animal", key="animal_id", abstract=True, parent="Dog")
        assert problems(shop(), data, is_update=True) == [
            (("parent",), "cyclic_inheritance")
        ]

    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({}, []),
            (
                {"key": None},
                [(("subclasses", "Dog", "primary_key"), "missing_primary_key")],
            ),
            (
                {"properties": [prop("animal_id"), prop("breed", "integer")]},
                [
                    (
                        ("subclasses", "Dog", "properties", "breed", "type"),
                        "override_type_mismatch",
                    )
                ],
            ),
            (
                {"relationships": [rel("breed", "Customer")]},
                [
                    (
                        ("subclasses", "Dog", "properties", "breed"),
                        "property_relationship_clash",
                    )
                ],
            ),
        ],
        ids=[
            "unchanged",
            "key-removed",
            "override-retyped",
            "property-now-relationship",
        ],
    )
    def test_update_of_a_parent_must_still_fit_its_subclasses(
        self, changes: dict[str, Any], expected: Expected
    ) -> None:
        fields: dict[str, Any] = {
            "key": "animal_id",
            "abstract": True,
            "relationships": [rel("kept_by")],
            **changes,
        }
        data = class_input("Animal", **fields)
        assert problems(shop(), data, is_update=True) == expected

    def test_update_of_a_parent_cannot_take_a_subclass_relationship_name(self) -> None:
        ontology = define(Ontology(), class_input("Vehicle", abstract=True))
        ontology = define(ontology, class_input("Customer", key="customer_id"))
        car = class_input(
            "Car",
            key=None,
            parent="Vehicle",
            properties=[],
            relationships=[rel("buyer"), rel("owner")],
        )
        ontology = define(ontology, car)
        vehicle = class_input(
            "Vehicle", abstract=True, properties=[prop("product_id"), prop("owner")]
        )
        assert problems(ontology, vehicle, is_update=True) == [
            (
                ("subclasses", "Car", "relationships", "owner"),
                "property_relationship_clash",
            )
        ]

    def test_update_may_keep_its_own_inverse(self) -> None:
        data = class_input(
            "Product",
            relationships=[rel(inverse={"predicate": "owns"})],
            description="sold goods",
        )
        ontology = define(shop(), data, is_update=True)
        assert ontology.classes["Product"].description == LocalizedText("sold goods")

    def test_paths_keep_input_positions_when_an_entry_is_unreadable(self) -> None:
        data = class_input(
            properties=[5, prop("product_id"), prop("bad-name")],
            relationships=[7, rel("x-y")],
        )
        assert problems(shop(), data) == [
            (("properties", "0"), "type_mismatch"),
            (("properties", "0", "name"), "required"),
            (("properties", "0", "type"), "required"),
            (("relationships", "0"), "type_mismatch"),
            (("relationships", "0", "predicate"), "required"),
            (("relationships", "0", "target"), "required"),
            (("relationships", "0", "cardinality"), "required"),
            (("properties", "2", "name"), "invalid_property_name"),
            (("relationships", "1", "predicate"), "invalid_predicate"),
        ]

    def test_a_self_reference_is_allowed(self) -> None:
        data = class_input(
            "Person",
            key="person_id",
            relationships=[
                rel("knows", "Person", "n:m", inverse={"predicate": "known_by"})
            ],
        )
        ontology = define(shop(), data)
        assert ontology.inverse_relationships_of("Person")[0].predicate == "known_by"

    def test_a_deprecated_class_may_reference_itself(self) -> None:
        data = class_input(
            "Old", key="old_id", deprecated=True, relationships=[rel("next", "Old")]
        )
        assert "Old" in define(shop(), data)

    def test_an_abstract_class_needs_no_primary_key(self) -> None:
        assert "Shape" in define(shop(), class_input("Shape", key=None, abstract=True))

    def test_a_subclass_inherits_the_primary_key(self) -> None:
        ontology = define(shop(), class_input("Cat", key=None, parent="Animal"))
        assert ontology.primary_key_of("Cat") == "animal_id"

    def test_a_subclass_may_override_a_property_with_the_same_type(self) -> None:
        data = class_input(
            "Puppy", key=None, parent="Dog", properties=[prop("breed", required=True)]
        )
        breed = define(shop(), data).effective_property("Puppy", "breed")
        assert breed is not None
        assert breed.required is True

    def test_defaults_are_stored_normalised(self) -> None:
        data = class_input(
            properties=[
                prop("product_id"),
                prop("price", "decimal", default=1.5, constraints={"scale": 2}),
                prop("since", "datetime", default="2024-01-01T09:00:00+09:00"),
            ]
        )
        ontology = define(Ontology(), data)
        assert [p.default for p in ontology.classes["Item"].properties] == [
            None,
            "1.50",
            "2024-01-01T00:00:00Z",
        ]

    def test_returns_the_parsed_class_when_valid(self) -> None:
        data = class_input(label={"en": "Product", "ko": "제품"}, title_key="name")
        defined, errors = validate_class_definition(Ontology(), data, is_update=False)
        assert errors == []
        assert defined == class_from_dict(data)


# -- lint -----------------------------------------------------------------------------


def tidy(id: str = "Customer", **extra: Any) -> ClassDef:
    """A class lint has nothing to say about."""
    fields: dict[str, Any] = {
        "description": LocalizedText("Someone who buys"),
        "primary_key": "customer_no",
        "title_key": "name",
        "properties": (
            PropertyDef("customer_no", STRING, required=True),
            PropertyDef("name", STRING),
        ),
        **extra,
    }
    return classdef(id, **fields)


def lint_codes(*classes: ClassDef) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [
        (i.class_id, i.severity, i.code, i.path)
        for i in lint(Ontology({c.id: c for c in classes}))
    ]


class TestLint:
    def test_a_tidy_ontology_has_no_issues(self) -> None:
        assert lint_codes(tidy()) == []

    def test_warns_about_a_primary_key_not_marked_required(self) -> None:
        loose = tidy(
            properties=(PropertyDef("customer_no", STRING), PropertyDef("name", STRING))
        )
        assert lint_codes(loose) == [
            ("Customer", "warning", "implicit_key", ("primary_key",))
        ]

    @pytest.mark.parametrize(
        "name", ["customer_id", "CustomerId", "id_", "key", "uuid"], ids=str
    )
    def test_warns_about_key_like_properties_that_are_not_the_key(
        self, name: str
    ) -> None:
        extra = (*tidy().properties, PropertyDef(name, STRING))
        issues = lint_codes(tidy(properties=extra))
        if name == "id_":
            assert issues == []
        else:
            assert issues == [
                ("Customer", "warning", "implicit_key", ("properties", "2", "name"))
            ]

    @pytest.mark.parametrize(
        ("class_id", "flagged"),
        [
            ("OrderCreated", True),
            ("PriceUpdated", True),
            ("UserDeleted", True),
            ("StatusChanged", True),
            ("AuditLog", True),
            ("PriceHistory", True),
            ("ClickEvents", True),
            ("Event", True),
            ("order_updated", True),
            ("Catalog", False),
            ("Blog", False),
            ("Product", False),
            ("Eventual", False),
        ],
        ids=lambda v: str(v),
    )
    def test_warns_about_event_like_class_names(
        self, class_id: str, flagged: bool
    ) -> None:
        issues = lint_codes(tidy(class_id))
        assert issues == (
            [(class_id, "warning", "event_like_class_name", ("id",))] if flagged else []
        )

    @pytest.mark.parametrize(
        "description", [None, LocalizedText("  ")], ids=["none", "blank"]
    )
    def test_warns_about_a_missing_description(
        self, description: LocalizedText | None
    ) -> None:
        assert lint_codes(tidy(description=description)) == [
            ("Customer", "warning", "missing_description", ("description",))
        ]

    def test_warns_about_a_missing_title_key_unless_inherited_or_abstract(self) -> None:
        base = tidy("Party", abstract=True, title_key=None)
        person = classdef(
            "Person", parent="Party", description=LocalizedText("A human")
        )
        assert lint_codes(base, person) == [
            ("Person", "warning", "missing_title_key", ("title_key",))
        ]
        titled_base = tidy("Party", abstract=True)
        assert lint_codes(titled_base, person) == []

    def test_warns_about_a_class_without_properties(self) -> None:
        empty = tidy(
            "Tag", abstract=True, properties=(), primary_key=None, title_key=None
        )
        user = tidy(relationships=(RelationshipDef("tags", "Tag"),))
        assert lint_codes(empty, user) == [
            ("Tag", "warning", "no_properties", ("properties",))
        ]

    def test_warns_about_an_abstract_class_nothing_uses(self) -> None:
        assert lint_codes(tidy("Party", abstract=True)) == [
            ("Party", "warning", "unreferenced_abstract_class", ("abstract",))
        ]

    def test_an_abstract_class_with_a_subclass_is_used(self) -> None:
        assert (
            lint_codes(tidy("Party", abstract=True), tidy("Person", parent="Party"))
            == []
        )

    def test_a_target_of_a_deprecated_class_is_still_unused(self) -> None:
        old = tidy(
            "Old", deprecated=True, relationships=(RelationshipDef("party", "Party"),)
        )
        assert [i[2] for i in lint_codes(tidy("Party", abstract=True), old)] == [
            "unreferenced_abstract_class"
        ]

    @pytest.mark.parametrize("deprecated", [None, True], ids=["missing", "deprecated"])
    def test_reports_relationships_to_missing_or_deprecated_classes_as_errors(
        self, deprecated: bool | None
    ) -> None:
        source = tidy(relationships=(RelationshipDef("supplier", "Supplier"),))
        others = [] if deprecated is None else [tidy("Supplier", deprecated=True)]
        assert lint_codes(source, *others) == [
            ("Customer", "error", "dangling_target", ("relationships", "0", "target"))
        ]

    def test_reports_a_missing_parent_as_an_error(self) -> None:
        assert lint_codes(tidy(parent="Party")) == [
            ("Customer", "error", "parent_missing", ("parent",))
        ]

    def test_warns_about_a_deprecated_parent(self) -> None:
        assert lint_codes(tidy(parent="Party"), tidy("Party", deprecated=True)) == [
            ("Customer", "warning", "deprecated_parent", ("parent",))
        ]

    def test_reports_cyclic_inheritance_as_an_error(self) -> None:
        issues = lint_codes(tidy("A", parent="B"), tidy("B", parent="A"))
        assert issues == [
            ("A", "error", "cyclic_inheritance", ("parent",)),
            ("B", "error", "cyclic_inheritance", ("parent",)),
        ]

    def test_does_not_lint_deprecated_classes(self) -> None:
        assert lint_codes(tidy("OrderCreated", deprecated=True, description=None)) == []

    def test_issues_serialise_for_the_api(self) -> None:
        issue = LintIssue(
            "warning", "no_properties", "Tag", "Tag has no properties", ("properties",)
        )
        assert issue.as_dict() == {
            "severity": "warning",
            "code": "no_properties",
            "class_id": "Tag",
            "message": "Tag has no properties",
            "path": ["properties"],
        }


# -- breaking changes -----------------------------------------------------------------


def product(**changes: Any) -> ClassDef:
    base: dict[str, Any] = {
        "primary_key": "product_id",
        "properties": (
            PropertyDef("product_id", STRING, required=True),
            PropertyDef("name", STRING),
            PropertyDef("price", PropertyType(Family.DECIMAL)),
        ),
        "relationships": (
            RelationshipDef(
                "owned_by", "Customer", cardinality=Cardinality.MANY_TO_ONE
            ),
            RelationshipDef("tags", "Tag", cardinality=Cardinality.MANY_TO_MANY),
        ),
    }
    return classdef("Product", **{**base, **changes})


def with_property(old: ClassDef, name: str, **changes: Any) -> tuple[PropertyDef, ...]:
    return tuple(replace(p, **changes) if p.name == name else p for p in old.properties)


def with_relationship(
    old: ClassDef, predicate: str, **changes: Any
) -> tuple[RelationshipDef, ...]:
    return tuple(
        replace(r, **changes) if r.predicate == predicate else r
        for r in old.relationships
    )


OLD = product()
BREAKING: list[tuple[str, ClassDef, bool, Expected]] = [
    ("identical", product(), True, []),
    ("label-only", product(label=LocalizedText("Goods")), True, []),
    ("type-changed", product(properties=with_property(OLD, "price", type=PropertyType(Family.FLOAT))), False, [(("properties", "price", "type"), "property_type_changed")]),
    ("removed-with-data", product(properties=OLD.properties[:2]), True, [(("properties", "price"), "property_removed_with_data")]),
    ("removed-without-data", product(properties=OLD.properties[:2]), False, []),
    ("key-changed", product(primary_key="name"), False, [(("primary_key",), "primary_key_changed")]),
    ("target-changed", product(relationships=with_relationship(OLD, "owned_by", target="Company")), False, [(("relationships", "owned_by", "target"), "relationship_target_changed")]),
    ("n:m-to-n:1", product(relationships=with_relationship(OLD, "tags", cardinality=Cardinality.MANY_TO_ONE)), False, [(("relationships", "tags", "cardinality"), "cardinality_narrowed")]),
    ("n:m-to-1:n", product(relationships=with_relationship(OLD, "tags", cardinality=Cardinality.ONE_TO_MANY)), False, [(("relationships", "tags", "cardinality"), "cardinality_narrowed")]),
    ("n:1-to-1:1", product(relationships=with_relationship(OLD, "owned_by", cardinality=Cardinality.ONE_TO_ONE)), False, [(("relationships", "owned_by", "cardinality"), "cardinality_narrowed")]),
    ("n:1-to-n:m-widens", product(relationships=with_relationship(OLD, "owned_by", cardinality=Cardinality.MANY_TO_MANY)), True, []),
    ("required-existing-with-data", product(properties=with_property(OLD, "name", required=True)), True, [(("properties", "name", "required"), "required_added_with_data")]),
    ("required-new-with-data", product(properties=(*OLD.properties, PropertyDef("sku", STRING, required=True))), True, [(("properties", "sku", "required"), "required_added_with_data")]),
    ("required-without-data", product(properties=with_property(OLD, "name", required=True)), False, []),
    ("optional-new-with-data", product(properties=(*OLD.properties, PropertyDef("sku", STRING))), True, []),
    ("relationship-removed-with-data", product(relationships=OLD.relationships[:1]), True, [(("relationships", "tags"), "relationship_removed_with_data")]),
    ("relationship-removed-without-data", product(relationships=OLD.relationships[:1]), False, []),
    ("relationship-required-with-data", product(relationships=with_relationship(OLD, "owned_by", required=True)), True, [(("relationships", "owned_by", "required"), "required_added_with_data")]),
    ("relationship-new-required-with-data", product(relationships=(*OLD.relationships, RelationshipDef("maker", "Maker", required=True))), True, [(("relationships", "maker", "required"), "required_added_with_data")]),
]  # fmt: skip


class TestBreakingChanges:
    @pytest.mark.parametrize(
        ("new", "has_data", "expected"),
        [(n, h, e) for _, n, h, e in BREAKING],
        ids=[i for i, _, _, _ in BREAKING],
    )
    def test_detects_each_breaking_change(
        self, new: ClassDef, has_data: bool, expected: Expected
    ) -> None:
        assert [
            (e.path, e.code) for e in breaking_changes(OLD, new, has_data=has_data)
        ] == expected

    def test_reports_every_breaking_change_at_once(self) -> None:
        new = product(
            primary_key="name",
            properties=with_property(OLD, "name", type=PropertyType(Family.TEXT)),
        )
        codes = [e.code for e in breaking_changes(OLD, new, has_data=True)]
        assert codes == ["primary_key_changed", "property_type_changed"]
