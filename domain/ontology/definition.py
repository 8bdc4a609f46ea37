"""Definition-time validation of a class against the ontology it joins or changes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from domain.errors import FieldError
from domain.ontology.defs import ClassDef, PropertyDef, RelationshipDef
from domain.ontology.model import Ontology
from domain.ontology.ptypes import Family
from domain.ontology.rules import validate_constraints
from domain.ontology.serde import ParsedClass, parse_class
from domain.ontology.values import validate_value

Path = tuple[str, ...]

CLASS_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
# `id` and `_meta` are fields of every generated type; `__` names belong to GraphQL.
RESERVED_NAMES = frozenset({"id", "_meta"})
KEY_FAMILIES = frozenset({Family.STRING, Family.INTEGER, Family.UUID})


def validate_class_definition(
    ontology: Ontology, classdef_dict: Mapping[str, Any], *, is_update: bool
) -> tuple[ClassDef | None, list[FieldError]]:
    """Check a class definition (ClassInput shape) against `ontology`.

    Returns the class with normalised defaults and no errors, or None and every error
    found, each with a path into the input such as ("properties", "2", "type").
    """
    parsed = parse_class(classdef_dict)
    classdef = parsed.classdef
    if classdef is None:
        return None, parsed.errors
    view = ontology.with_class(classdef)
    properties, property_errors = _properties(view, classdef, parsed)
    errors = [
        *parsed.errors,
        *_identity(ontology, classdef, is_update=is_update),
        *_parent(view, classdef),
        *property_errors,
        *_relationships(view, classdef, parsed),
        *_keys(view, classdef),
        *_subclass_errors(view, classdef),
    ]
    if errors:
        return None, errors
    return replace(classdef, properties=properties), []


def _error(path: Path, code: str, message: str) -> list[FieldError]:
    return [FieldError(path, code, message)]


def _identity(
    ontology: Ontology, classdef: ClassDef, *, is_update: bool
) -> list[FieldError]:
    if not CLASS_ID.fullmatch(classdef.id):
        message = f"class id {classdef.id!r:.60} must start with a letter and use only letters, digits and _ (at most 100)"
        return _error(("id",), "invalid_class_id", message)
    exists = classdef.id in ontology
    if exists and not is_update:
        return _error(
            ("id",), "class_exists", f"class {classdef.id!r} is already defined"
        )
    if is_update and not exists:
        return _error(("id",), "unknown_class", f"class {classdef.id!r} is not defined")
    return []


def _parent(view: Ontology, classdef: ClassDef) -> list[FieldError]:
    """`view` already holds `classdef`, so a cycle through it shows in the ancestors."""
    parent_id = classdef.parent
    if parent_id is None:
        return []
    if parent_id == classdef.id or classdef.id in view.ancestors(parent_id):
        return _error(
            ("parent",),
            "cyclic_inheritance",
            f"{classdef.id!r} would inherit from itself through {parent_id!r}",
        )
    parent = view.get(parent_id)
    if parent is None:
        return _error(
            ("parent",), "unknown_parent", f"parent class {parent_id!r} is not defined"
        )
    if parent.deprecated:
        return _error(
            ("parent",),
            "parent_is_deprecated",
            f"parent class {parent_id!r} is deprecated",
        )
    return []


def _name_errors(name: str, path: Path, code: str) -> list[FieldError]:
    if name in RESERVED_NAMES or name.startswith("__"):
        return _error(path, "reserved_name", f"{name!r} is reserved")
    if not FIELD_NAME.fullmatch(name):
        message = f"{name!r:.60} must start with a letter or _ and use only letters, digits and _ (at most 100)"
        return _error(path, code, message)
    return []


def _properties(
    view: Ontology, classdef: ClassDef, parsed: ParsedClass
) -> tuple[tuple[PropertyDef, ...], list[FieldError]]:
    parent = classdef.parent
    inherited = {p.name: p for p in view.effective_properties(parent)} if parent else {}
    inherited_links = (
        {r.predicate for r in view.effective_relationships(parent)} if parent else set()
    )
    checked: list[PropertyDef] = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, prop in enumerate(classdef.properties):
        base = ("properties", str(parsed.property_positions[index]))
        errors += _name_errors(prop.name, (*base, "name"), "invalid_property_name")
        if prop.name in seen:
            errors += _error(
                (*base, "name"),
                "duplicate_property",
                f"property {prop.name!r} is defined twice",
            )
        if prop.name in inherited_links:
            errors += _error(
                (*base, "name"),
                "property_relationship_clash",
                f"{prop.name!r} is an inherited relationship",
            )
        seen.add(prop.name)
        if index in parsed.untyped:
            checked.append(prop)
            continue
        errors += _override_errors(inherited.get(prop.name), prop, base)
        prop, value_errors = _checked_values(prop, base)
        checked.append(prop)
        errors += value_errors
    return tuple(checked), errors


def _override_errors(
    inherited: PropertyDef | None, prop: PropertyDef, base: Path
) -> list[FieldError]:
    # Queries on a parent return subclass instances, so an override must keep the type.
    if inherited is None or inherited.type == prop.type:
        return []
    message = f"{prop.name!r} is inherited as {inherited.type}; an override cannot make it {prop.type}"
    return _error((*base, "type"), "override_type_mismatch", message)


def _checked_values(
    prop: PropertyDef, base: Path
) -> tuple[PropertyDef, list[FieldError]]:
    """Constraints must make sense, and the default must satisfy type and constraints."""
    errors = validate_constraints(prop.type, prop.constraints, (*base, "constraints"))
    if errors or prop.default is None:
        return prop, errors
    default, problems = validate_value(
        prop.type, prop.constraints, prop.default, (*base, "default")
    )
    if problems:
        return prop, [
            FieldError(e.path, "invalid_default", f"default: {e.message}")
            for e in problems
        ]
    return replace(prop, default=default), []


def _relationships(
    view: Ontology, classdef: ClassDef, parsed: ParsedClass
) -> list[FieldError]:
    property_names = {p.name for p in view.effective_properties(classdef.id)}
    claimed: set[tuple[str, str]] = set()
    seen: set[str] = set()
    errors: list[FieldError] = []
    for index, rel in enumerate(classdef.relationships):
        base = ("relationships", str(parsed.relationship_positions[index]))
        errors += _name_errors(rel.predicate, (*base, "predicate"), "invalid_predicate")
        if rel.predicate in seen:
            errors += _error(
                (*base, "predicate"),
                "duplicate_relationship",
                f"relationship {rel.predicate!r} is defined twice",
            )
        if rel.predicate in property_names:
            errors += _error(
                (*base, "predicate"),
                "property_relationship_clash",
                f"{rel.predicate!r} is also a property",
            )
        seen.add(rel.predicate)
        errors += _target_errors(view, classdef, rel, base)
        errors += _inverse_errors(view, classdef, rel, (*base, "inverse"), claimed)
    return errors


def _target_errors(
    view: Ontology, classdef: ClassDef, rel: RelationshipDef, base: Path
) -> list[FieldError]:
    target = view.get(rel.target)
    if target is None:
        return _error(
            (*base, "target"),
            "unknown_target_class",
            f"target class {rel.target!r} is not defined",
        )
    if target.deprecated and target.id != classdef.id:
        return _error(
            (*base, "target"),
            "target_is_deprecated",
            f"target class {rel.target!r} is deprecated",
        )
    return []


def _inverse_errors(
    view: Ontology,
    classdef: ClassDef,
    rel: RelationshipDef,
    path: Path,
    claimed: set[tuple[str, str]],
) -> list[FieldError]:
    """An inverse becomes a field of the target (and its subclasses): it must be free."""
    if rel.inverse is None:
        return []
    predicate = rel.inverse.predicate
    errors = _name_errors(predicate, (*path, "predicate"), "invalid_predicate")
    if errors or rel.target not in view:
        return errors
    if (
        predicate in _fields_of(view, rel.target, classdef.id)
        or (rel.target, predicate) in claimed
    ):
        message = f"inverse {predicate!r} collides with a field of {rel.target!r}"
        errors += _error((*path, "predicate"), "inverse_clash", message)
    claimed.add((rel.target, predicate))
    return errors


def _fields_of(view: Ontology, class_id: str, defining: str) -> set[str]:
    """Field names of a class and its subclasses, except inverses `defining` declares."""
    names: set[str] = set()
    for member in view.subclasses(class_id):
        names.update(p.name for p in view.effective_properties(member))
        names.update(r.predicate for r in view.effective_relationships(member))
        names.update(
            link.predicate
            for link in view.inverse_relationships_of(member)
            if link.source_class != defining
        )
    return names


def _subclass_errors(view: Ontology, classdef: ClassDef) -> list[FieldError]:
    """A changed class must still fit its existing subclasses: they keep a primary key,
    their overrides keep the inherited types, and their fields do not collide."""
    errors: list[FieldError] = []
    for sub_id in view.subclasses(classdef.id, include_self=False):
        sub = view.classes[sub_id]
        base = ("subclasses", sub_id)
        if not sub.abstract and view.primary_key_of(sub_id) is None:
            message = f"subclass {sub_id} would be left without a primary key"
            errors += _error((*base, "primary_key"), "missing_primary_key", message)
        parent = sub.parent or ""
        inherited = {p.name: p for p in view.effective_properties(parent)}
        inherited_links = {r.predicate for r in view.effective_relationships(parent)}
        for prop in sub.properties:
            path = (*base, "properties", prop.name)
            errors += _override_errors(inherited.get(prop.name), prop, path)
            if prop.name in inherited_links:
                message = f"subclass {sub_id} has a property {prop.name!r} that is now an inherited relationship"
                errors += _error(path, "property_relationship_clash", message)
        for rel in sub.relationships:
            if rel.predicate in inherited:
                message = f"subclass {sub_id} has a relationship {rel.predicate!r} that is now an inherited property"
                errors += _error(
                    (*base, "relationships", rel.predicate),
                    "property_relationship_clash",
                    message,
                )
    return errors


def _keys(view: Ontology, classdef: ClassDef) -> list[FieldError]:
    errors: list[FieldError] = []
    if classdef.primary_key is not None:
        key = view.effective_property(classdef.id, classdef.primary_key)
        errors += _primary_key_errors(classdef.primary_key, key)
    elif not classdef.abstract and view.primary_key_of(classdef.id) is None:
        message = "a class with instances needs a primary key, its own or inherited"
        errors += _error(("primary_key",), "missing_primary_key", message)
    title = classdef.title_key
    if title is not None and view.effective_property(classdef.id, title) is None:
        errors += _error(
            ("title_key",),
            "unknown_title_key",
            f"title_key {title!r} names no property",
        )
    return errors


def _primary_key_errors(name: str, key: PropertyDef | None) -> list[FieldError]:
    if key is None:
        return _error(
            ("primary_key",),
            "missing_primary_key",
            f"primary_key {name!r} names no property",
        )
    if key.type.is_array or key.type.family not in KEY_FAMILIES:
        message = (
            f"primary key {name!r} must be a string, integer or uuid, not {key.type}"
        )
        return _error(("primary_key",), "invalid_primary_key", message)
    if key.default is not None:
        message = (
            f"primary key {name!r} cannot have a default: every instance needs its own"
        )
        return _error(("primary_key",), "invalid_primary_key", message)
    return []
