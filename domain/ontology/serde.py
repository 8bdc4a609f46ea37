"""Class definitions to and from JSON-able dicts: the shape of ClassInput and of events."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain.errors import FieldError, ValidationFailed
from domain.ontology.defs import (
    Cardinality,
    ClassDef,
    DanglingPolicy,
    InverseDef,
    PropertyDef,
    RelationshipDef,
)
from domain.ontology.formats import show_value
from domain.ontology.ptypes import (
    Family,
    PropertyType,
    try_parse_type,
    unknown_type_message,
)
from domain.ontology.text import LocalizedText

Path = tuple[str, ...]
T = TypeVar("T")

_CLASS_KEYS = frozenset(
    {"id", "label", "label_i18n", "description", "description_i18n", "parent", "abstract",
     "primary_key", "title_key", "properties", "relationships", "deprecated"}
)  # fmt: skip
_PROPERTY_KEYS = frozenset(
    {"name", "type", "label", "label_i18n", "required", "unique", "default",
     "description", "description_i18n", "constraints"}
)  # fmt: skip
_RELATIONSHIP_KEYS = frozenset(
    {"predicate", "target", "label", "label_i18n", "cardinality", "inverse", "required",
     "dangling_policy"}
)  # fmt: skip
_INVERSE_KEYS = frozenset({"predicate", "label", "label_i18n"})
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")
# Stand-in type for a property whose type failed to parse, so later checks keep positions.
_PLACEHOLDER_TYPE = PropertyType(Family.JSON)


@dataclass(frozen=True, slots=True)
class ParsedClass:
    """A class read from a dict, with where each member came from in the input.

    `classdef` is None only when the input has no usable id; it may be partial when
    `errors` is non-empty. `property_positions[k]` is the input index of
    `classdef.properties[k]`; `untyped` holds the k whose type did not parse.
    """

    classdef: ClassDef | None
    errors: list[FieldError]
    property_positions: tuple[int, ...] = ()
    relationship_positions: tuple[int, ...] = ()
    untyped: frozenset[int] = field(default_factory=frozenset)


def snake_case(key: str) -> str:
    return _CAMEL_HUMP.sub(r"_\1", key).lower()


class _Reader:
    """Reads typed fields of one input object, collecting errors instead of raising."""

    def __init__(
        self,
        data: object,
        path: Path,
        allowed: frozenset[str],
        errors: list[FieldError],
    ):
        self.path, self.errors = path, errors
        self.data: dict[str, object] = {}
        if not isinstance(data, Mapping):
            self.fail(
                (), "type_mismatch", f"expected an object, got {show_value(data)}"
            )
            return
        for key, value in data.items():
            name = snake_case(key) if isinstance(key, str) else ""
            if name not in allowed:
                self.fail(
                    (str(key),), "unknown_field", f"unknown field {show_value(key)}"
                )
            # A later spelling wins, as in a dict merge of a stored definition and a patch.
            self.data[name] = value

    def fail(self, where: Path, code: str, message: str) -> None:
        self.errors.append(FieldError((*self.path, *where), code, message))

    def typed(
        self, key: str, kind: type[T], what: str, *, required: bool = False
    ) -> T | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail((key,), "required", f"{key} is required")
            return None
        if not isinstance(value, kind) or (
            kind is not bool and isinstance(value, bool)
        ):
            self.fail(
                (key,),
                "type_mismatch",
                f"{key} must be {what}, got {show_value(value)}",
            )
            return None
        return value

    def text(self, key: str, *, required: bool = False) -> str | None:
        return self.typed(key, str, "a string", required=required)

    def flag(self, key: str) -> bool:
        return self.typed(key, bool, "true or false") is True

    def records(self, key: str) -> list[object]:
        value = self.data.get(key)
        if value is None or isinstance(value, list | tuple):
            return list(value or [])
        self.fail(
            (key,), "type_mismatch", f"{key} must be a list, got {show_value(value)}"
        )
        return []

    def localized(self, key: str) -> LocalizedText | None:
        """`key` as a string or language map, plus translations from `key_i18n`."""
        value, extra = self.data.get(key), self.data.get(f"{key}_i18n")
        translations = _language_map(extra, allow_empty=True)
        if translations is None:
            self.fail(
                (f"{key}_i18n",),
                "type_mismatch",
                f"{key}_i18n must be an object of language -> text",
            )
        if value is None:
            return LocalizedText.of(translations) if translations else None
        languages = (
            value if isinstance(value, str) else _language_map(value, allow_empty=False)
        )
        if languages is None:
            self.fail(
                (key,),
                "type_mismatch",
                f"{key} must be a string or an object of language -> text",
            )
            return None
        return LocalizedText.of(languages, translations)

    def choice(self, key: str, parse: Callable[[object], T], code: str) -> T | None:
        """A required enumerated field; `parse` raises ValueError for a bad value."""
        raw = self.data.get(key)
        if raw is None:
            self.fail((key,), "required", f"{key} is required")
            return None
        try:
            return parse(raw)
        except ValueError as error:
            self.fail((key,), code, str(error))
            return None


def _language_map(value: object, *, allow_empty: bool) -> dict[str, str] | None:
    """A map of language tag to text; None when `value` is not one."""
    if value is None and allow_empty:
        return {}
    if not isinstance(value, Mapping) or (not value and not allow_empty):
        return None
    if all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return dict(value)
    return None


def parse_class(data: object) -> ParsedClass:
    """Read a class definition, collecting every structural error."""
    errors: list[FieldError] = []
    reader = _Reader(data, (), _CLASS_KEYS, errors)
    class_id = reader.text("id", required=True)
    label = reader.localized("label")
    description = reader.localized("description")
    parent, abstract = reader.text("parent"), reader.flag("abstract")
    primary_key, title_key = reader.text("primary_key"), reader.text("title_key")
    properties, property_positions, untyped = _properties(
        reader.records("properties"), errors
    )
    relationships, relationship_positions = _relationships(
        reader.records("relationships"), errors
    )
    deprecated = reader.flag("deprecated")
    if class_id is None:
        return ParsedClass(None, errors)
    classdef = ClassDef(
        id=class_id,
        label=label or LocalizedText(class_id),
        description=description,
        parent=parent,
        abstract=abstract,
        primary_key=primary_key,
        title_key=title_key,
        properties=tuple(properties),
        relationships=tuple(relationships),
        deprecated=deprecated,
    )
    return ParsedClass(
        classdef, errors, property_positions, relationship_positions, untyped
    )


def class_from_dict(data: Mapping[str, Any]) -> ClassDef:
    """Read a class definition (an event payload or a ClassInput in snake or camel case).

    Raises:
        ValidationFailed: with every structural error; naming rules and references to
            other classes are checked by `validate_class_definition`, not here.
    """
    parsed = parse_class(data)
    if parsed.errors or parsed.classdef is None:
        raise ValidationFailed(errors=parsed.errors, summary="invalid class definition")
    return parsed.classdef


def class_to_dict(classdef: ClassDef) -> dict[str, Any]:
    """The JSON-able form events carry; `class_from_dict` reads it back exactly."""
    return {
        "id": classdef.id,
        **_text_fields("label", classdef.label),
        **_text_fields("description", classdef.description),
        "parent": classdef.parent,
        "abstract": classdef.abstract,
        "primary_key": classdef.primary_key,
        "title_key": classdef.title_key,
        "properties": [_property_to_dict(p) for p in classdef.properties],
        "relationships": [_relationship_to_dict(r) for r in classdef.relationships],
        "deprecated": classdef.deprecated,
    }


def _text_fields(key: str, text: LocalizedText | None) -> dict[str, Any]:
    if text is None:
        return {key: None}
    if not text.translations:
        return {key: text.default}
    return {key: text.default, f"{key}_i18n": dict(text.translations)}


def _property_to_dict(prop: PropertyDef) -> dict[str, Any]:
    return {
        "name": prop.name,
        "type": str(prop.type),
        **_text_fields("label", prop.label),
        "required": prop.required,
        "unique": prop.unique,
        "default": copy.deepcopy(prop.default),
        **_text_fields("description", prop.description),
        "constraints": copy.deepcopy(prop.constraints),
    }


def _relationship_to_dict(rel: RelationshipDef) -> dict[str, Any]:
    inverse = rel.inverse
    return {
        "predicate": rel.predicate,
        "target": rel.target,
        **_text_fields("label", rel.label),
        "cardinality": rel.cardinality.value,
        "inverse": None
        if inverse is None
        else {"predicate": inverse.predicate, **_text_fields("label", inverse.label)},
        "required": rel.required,
        "dangling_policy": rel.dangling_policy.value,
    }


def _properties(
    raws: list[object], errors: list[FieldError]
) -> tuple[list[PropertyDef], tuple[int, ...], frozenset[int]]:
    properties: list[PropertyDef] = []
    positions: list[int] = []
    untyped: set[int] = set()
    for index, raw in enumerate(raws):
        prop, typed = _property(raw, ("properties", str(index)), errors)
        if prop is None:
            continue
        if not typed:
            untyped.add(len(properties))
        properties.append(prop)
        positions.append(index)
    return properties, tuple(positions), frozenset(untyped)


def _property(
    raw: object, path: Path, errors: list[FieldError]
) -> tuple[PropertyDef | None, bool]:
    """The property (None without a name) and whether its type parsed."""
    reader = _Reader(raw, path, _PROPERTY_KEYS, errors)
    name = reader.text("name", required=True)
    ptype = reader.choice("type", _parse_type, "unknown_type")
    constraints = reader.data.get("constraints")
    if constraints is not None and not isinstance(constraints, Mapping):
        reader.fail(
            ("constraints",), "invalid_constraint", "constraints must be an object"
        )
        constraints = None
    prop = PropertyDef(
        name=name or "",
        type=ptype or _PLACEHOLDER_TYPE,
        label=reader.localized("label"),
        required=reader.flag("required"),
        unique=reader.flag("unique"),
        default=copy.deepcopy(reader.data.get("default")),
        description=reader.localized("description"),
        constraints=copy.deepcopy(dict(constraints or {})),
    )
    return (prop if name is not None else None), ptype is not None


def _parse_type(spec: object) -> PropertyType:
    parsed = try_parse_type(spec)
    if parsed is None:
        raise ValueError(unknown_type_message(spec))
    return parsed


def _relationships(
    raws: list[object], errors: list[FieldError]
) -> tuple[list[RelationshipDef], tuple[int, ...]]:
    relationships: list[RelationshipDef] = []
    positions: list[int] = []
    for index, raw in enumerate(raws):
        rel = _relationship(raw, ("relationships", str(index)), errors)
        if rel is not None:
            relationships.append(rel)
            positions.append(index)
    return relationships, tuple(positions)


def _relationship(
    raw: object, path: Path, errors: list[FieldError]
) -> RelationshipDef | None:
    reader = _Reader(raw, path, _RELATIONSHIP_KEYS, errors)
    predicate = reader.text("predicate", required=True)
    target = reader.text("target", required=True)
    label = reader.localized("label")
    cardinality = reader.choice("cardinality", Cardinality.parse, "invalid_cardinality")
    inverse = _inverse(reader.data.get("inverse"), (*path, "inverse"), errors)
    required = reader.flag("required")
    policy = DanglingPolicy.REJECT
    if reader.data.get("dangling_policy") is not None:
        policy = (
            reader.choice(
                "dangling_policy", DanglingPolicy.parse, "invalid_dangling_policy"
            )
            or policy
        )
    if predicate is None or target is None:
        return None
    return RelationshipDef(
        predicate=predicate,
        target=target,
        label=label,
        cardinality=cardinality or Cardinality.MANY_TO_MANY,
        inverse=inverse,
        required=required,
        dangling_policy=policy,
    )


def _inverse(raw: object, path: Path, errors: list[FieldError]) -> InverseDef | None:
    if raw is None:
        return None
    reader = _Reader(raw, path, _INVERSE_KEYS, errors)
    predicate = reader.text("predicate", required=True)
    label = reader.localized("label")
    return InverseDef(predicate, label) if predicate is not None else None
