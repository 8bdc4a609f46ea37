"""Instance validation against the ontology: values, links, required fields and the id."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import FieldError
from domain.ids import INSTANCE_ID, instance_aggregate_id
from domain.ontology import ClassDef, Ontology, PropertyDef, RelationshipDef
from domain.ontology.formats import show_value
from domain.types import validate_value

__all__ = [
    "InstanceCheck",
    "instance_aggregate_id",
    "merge_patch",
    "validate_instance",
]

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InstanceCheck:
    """The outcome of validating one instance write.

    `values` holds normalised property values (defaults applied on create; on a patch
    only the keys given, None meaning cleared). `links` maps each relationship given to
    its target ids, a to-one as a one-item list; an empty list clears it on a patch.
    """

    values: dict[str, Any]
    links: dict[str, list[str]]
    instance_id: str | None
    errors: list[FieldError]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class _Shape:
    """What an instance of a class may hold, inherited members included."""

    class_id: str
    properties: dict[str, PropertyDef]
    relationships: dict[str, RelationshipDef]
    key: str | None

    @classmethod
    def of(cls, ontology: Ontology, class_id: str) -> _Shape:
        shape: _Shape = ontology.memoised(
            "instance_shape", class_id, lambda: cls._build(ontology, class_id)
        )
        return shape

    @classmethod
    def _build(cls, ontology: Ontology, class_id: str) -> _Shape:
        return cls(
            class_id,
            {p.name: p for p in ontology.effective_properties(class_id)},
            {r.predicate: r for r in ontology.effective_relationships(class_id)},
            ontology.primary_key_of(class_id),
        )

    def must_have(self, name: str) -> bool:
        prop = self.properties.get(name)
        return name == self.key or (prop is not None and prop.required)


def validate_instance(
    ontology: Ontology,
    class_id: str,
    data: Mapping[str, Any],
    *,
    partial: bool,
    current: Mapping[str, Any] | None = None,
) -> InstanceCheck:
    """Validate a create (`partial=False`) or a patch (`partial=True`) of an instance.

    On a patch an absent key is unchanged and an explicit None (or [] for a to-many
    relationship) clears it; `current` (the stored values) guards the primary key.
    Uniqueness, dangling targets and the target side of cardinality need the store and
    are checked by the command handler.
    """
    problem = _class_problem(class_id, ontology.get(class_id))
    if problem is not None:
        return InstanceCheck({}, {}, None, [problem])
    shape = _Shape.of(ontology, class_id)
    values, links, errors = _read(shape, data, partial=partial)
    if partial:
        errors += _patch_errors(shape, values, links, current)
        return InstanceCheck(values, links, _patched_id(shape, values, current), errors)
    values = _with_defaults(shape, values)
    # A member given with a bad value is reported once, not also as missing.
    invalid = {e.path[0] for e in errors if e.path}
    errors += [e for e in _missing(shape, values, links) if e.path[0] not in invalid]
    instance_id, id_errors = _instance_id(shape, values)
    return InstanceCheck(values, links, instance_id, errors + id_errors)


def checked_state(
    ontology: Ontology, class_id: str, state: Mapping[str, Any]
) -> InstanceCheck:
    """The check of a create that `validate_instance` already accepted against this
    very ontology, rebuilt from its result (`values` with defaults and `links`,
    side by side) without validating every value again."""
    shape = _Shape.of(ontology, class_id)
    values = {k: v for k, v in state.items() if k in shape.properties}
    links = {k: list(v) for k, v in state.items() if k in shape.relationships}
    instance_id, errors = _instance_id(shape, values)
    return InstanceCheck(values, links, instance_id, errors)


def merge_patch(
    current: Mapping[str, Any],
    patch_values: Mapping[str, Any],
    patch_links: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Apply a validated patch to a flat instance state (values and link lists side by
    side, as names never clash): None removes a value, an empty list removes a link."""
    merged = copy.deepcopy(dict(current))
    for key, value in patch_values.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)
    for predicate, ids in (patch_links or {}).items():
        if ids:
            merged[predicate] = list(ids)
        else:
            merged.pop(predicate, None)
    return merged


def _class_problem(class_id: str, classdef: ClassDef | None) -> FieldError | None:
    if classdef is None:
        return FieldError((), "unknown_class", f"class {class_id!r} is not defined")
    if classdef.abstract:
        return FieldError(
            (),
            "abstract_class",
            f"{class_id} is abstract: create an instance of a subclass",
        )
    if classdef.deprecated:
        return FieldError(
            (), "deprecated_class", f"{class_id} is deprecated and takes no writes"
        )
    return None


def _read(
    shape: _Shape, data: Mapping[str, Any], *, partial: bool
) -> tuple[dict[str, Any], dict[str, list[str]], list[FieldError]]:
    values: dict[str, Any] = {}
    links: dict[str, list[str]] = {}
    errors: list[FieldError] = []
    for key, raw in data.items():
        name = str(key)
        prop, rel = shape.properties.get(name), shape.relationships.get(name)
        if prop is not None:
            value, problems = validate_value(prop.type, prop.constraints, raw, (name,))
            if not problems and (value is not None or partial):
                values[name] = value
        elif rel is not None:
            ids, problems = _link_ids(rel, raw, (name,))
            if not problems and (ids or partial):
                links[name] = ids
        else:
            message = f"{show_value(key)} is not a property or relationship of {shape.class_id}"
            problems = [FieldError((name,), "unknown_property", message)]
        errors += problems
    return values, links, errors


def _link_ids(
    rel: RelationshipDef, raw: object, path: Path
) -> tuple[list[str], list[FieldError]]:
    if raw is None:
        return [], []
    if rel.cardinality.to_many:
        if not isinstance(raw, list | tuple):
            message = f"{rel.predicate} takes a list of {rel.target} ids, got {show_value(raw)}"
            return [], [FieldError(path, "type_mismatch", message)]
        return _checked_ids(list(raw), path, many=True)
    if isinstance(raw, list | tuple):
        message = f"{rel.predicate} links to one {rel.target} ({rel.cardinality}); give one id, not a list"
        return [], [FieldError(path, "cardinality", message)]
    return _checked_ids([raw], path, many=False)


def _checked_ids(
    ids: list[object], path: Path, *, many: bool
) -> tuple[list[str], list[FieldError]]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, item in enumerate(ids):
        where = (*path, str(index)) if many else path
        if not isinstance(item, str):
            errors.append(
                FieldError(
                    where,
                    "type_mismatch",
                    f"expected an id string, got {show_value(item)}",
                )
            )
        elif not INSTANCE_ID.fullmatch(item):
            errors.append(
                FieldError(
                    where,
                    "invalid_reference",
                    f"{show_value(item)} is not a valid instance id",
                )
            )
        elif item in seen:
            errors.append(
                FieldError(where, "unique_items", f"{show_value(item)} is linked twice")
            )
        else:
            seen.add(item)
    return ([str(i) for i in ids] if not errors else []), errors


def _with_defaults(shape: _Shape, values: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        name: copy.deepcopy(prop.default)
        for name, prop in shape.properties.items()
        if name not in values and prop.default is not None
    }
    return {**values, **defaults}


def _missing(
    shape: _Shape, values: Mapping[str, Any], links: Mapping[str, list[str]]
) -> list[FieldError]:
    errors = [
        FieldError((name,), "required", f"{name} is required")
        for name in shape.properties
        if shape.must_have(name) and values.get(name) is None
    ]
    errors += [
        FieldError(
            (predicate,), "required", f"{predicate} needs at least one {rel.target}"
        )
        for predicate, rel in shape.relationships.items()
        if rel.required and not links.get(predicate)
    ]
    return errors


def _patch_errors(
    shape: _Shape,
    values: Mapping[str, Any],
    links: Mapping[str, list[str]],
    current: Mapping[str, Any] | None,
) -> list[FieldError]:
    errors = [
        FieldError((name,), "required", f"{name} is required and cannot be cleared")
        for name, value in values.items()
        if value is None and shape.must_have(name)
    ]
    errors += [
        FieldError(
            (predicate,), "required", f"{predicate} is required and cannot be cleared"
        )
        for predicate, ids in links.items()
        if not ids and shape.relationships[predicate].required
    ]
    key = shape.key
    before = current.get(key) if current is not None and key is not None else None
    if key is not None and before is not None and values.get(key) not in (None, before):
        message = (
            f"{key} is the primary key: it cannot change from {show_value(before)}"
        )
        errors.append(FieldError((key,), "primary_key_immutable", message))
    return errors


def _patched_id(
    shape: _Shape, values: Mapping[str, Any], current: Mapping[str, Any] | None
) -> str | None:
    if shape.key is None:
        return None
    value = current.get(shape.key) if current is not None else None
    value = value if value is not None else values.get(shape.key)
    return str(value) if value is not None else None


def _instance_id(
    shape: _Shape, values: Mapping[str, Any]
) -> tuple[str | None, list[FieldError]]:
    if shape.key is None:
        message = f"{shape.class_id} has no primary key, so its instances cannot be identified"
        return None, [FieldError((), "missing_primary_key", message)]
    value = values.get(shape.key)
    if value is None:
        return None, []
    text = str(value)
    if INSTANCE_ID.fullmatch(text):
        return text, []
    message = f"{show_value(text)} cannot be an instance id: use 1 to 255 letters, digits, _ : . or -"
    return None, [FieldError((shape.key,), "invalid_instance_id", message)]
