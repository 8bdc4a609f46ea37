"""Mapping specs: how the columns of a dataset become the members of a class.

A mapping (SPEC §6.1 `MappingInput`) names the dataset, the target class, which
column feeds which property, which column holds the primary key of a relationship's
target, and computed properties rendered from templates such as
`"{order_id}-{line_no}"` (a composite key). `validate_mapping` checks a spec against
the branch's ontology and the dataset's column list before anything runs, so a run
only ever meets row-level problems.
"""

from __future__ import annotations

import string
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.errors import FieldError
from domain.ids import INSTANCE_ID
from domain.ontology import Ontology

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ColumnToProperty:
    column: str
    property: str


@dataclass(frozen=True, slots=True)
class ColumnToRelationship:
    """The column holds the target's primary key (to-many: ids separated by commas,
    which an instance id cannot contain)."""

    column: str
    predicate: str


@dataclass(frozen=True, slots=True)
class TemplateToProperty:
    template: str
    property: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingSpec:
    id: str
    dataset: str
    class_id: str
    properties: tuple[ColumnToProperty, ...] = ()
    relationships: tuple[ColumnToRelationship, ...] = ()
    computed: tuple[TemplateToProperty, ...] = ()
    timezone: str = "UTC"  # how naive date-times in the file are read

    @classmethod
    def from_input(cls, raw: Mapping[str, Any]) -> MappingSpec:
        """From a `MappingInput` as plain data (GraphQL names); absent lists are empty."""
        return cls(
            id=str(raw.get("id") or ""),
            dataset=str(raw.get("dataset") or ""),
            class_id=str(raw.get("classId") or ""),
            properties=tuple(
                ColumnToProperty(str(p["column"]), str(p["property"]))
                for p in raw.get("properties") or ()
            ),
            relationships=tuple(
                ColumnToRelationship(str(r["column"]), str(r["predicate"]))
                for r in raw.get("relationships") or ()
            ),
            computed=tuple(
                TemplateToProperty(str(t["template"]), str(t["property"]))
                for t in raw.get("computed") or ()
            ),
            timezone=str(raw.get("timezone") or "UTC"),
        )

    def as_input(self) -> dict[str, Any]:
        """The inverse of `from_input`: what an event or a read returns."""
        return {
            "id": self.id,
            "dataset": self.dataset,
            "classId": self.class_id,
            "properties": [
                {"column": p.column, "property": p.property} for p in self.properties
            ],
            "relationships": [
                {"column": r.column, "predicate": r.predicate}
                for r in self.relationships
            ],
            "computed": [
                {"template": t.template, "property": t.property} for t in self.computed
            ],
            "timezone": self.timezone,
        }

    def columns_used(self) -> set[str]:
        used = {p.column for p in self.properties}
        used |= {r.column for r in self.relationships}
        for item in self.computed:
            used |= set(template_columns(item.template) or ())
        return used


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A template split into literal text and column names."""

    parts: tuple[tuple[str, str | None], ...] = field(default=())


def template_columns(template: str) -> list[str] | None:
    """The columns a template names, in order; None when it is malformed
    (unbalanced braces, format specs or conversions, an empty `{}`)."""
    parsed = _parse(template)
    return None if parsed is None else [c for _, c in parsed.parts if c is not None]


def render_template(template: str, row: Mapping[str, str | None]) -> str | None:
    """The template filled from `row`; None when a column it names is null."""
    parsed = _parse(template)
    if parsed is None:
        return None
    pieces: list[str] = []
    for literal, column in parsed.parts:
        pieces.append(literal)
        if column is not None:
            value = row.get(column)
            if value is None:
                return None
            pieces.append(value)
    return "".join(pieces)


def _parse(template: str) -> _Parsed | None:
    try:
        items = list(string.Formatter().parse(template))
    except ValueError:
        return None
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in items:
        if name is not None and (not name or spec or conversion):
            return None
        parts.append((literal, name))
    return _Parsed(tuple(parts))


def validate_mapping(
    ontology: Ontology, spec: MappingSpec, columns: Sequence[str]
) -> list[FieldError]:
    """Every problem of `spec` against the ontology and the dataset's columns, with
    paths in `MappingInput` names (e.g. `("properties", "2", "column")`)."""
    errors = _header_problems(spec)
    classdef = ontology.get(spec.class_id)
    if classdef is None:
        message = f"class {spec.class_id!r} is not defined"
        return [*errors, FieldError(("classId",), "unknown_class", message)]
    if classdef.abstract or classdef.deprecated:
        state = "abstract" if classdef.abstract else "deprecated"
        message = f"{spec.class_id} is {state} and takes no instances"
        errors.append(FieldError(("classId",), f"{state}_class", message))
    known = set(columns)
    errors += _property_problems(ontology, spec, known)
    errors += _relationship_problems(ontology, spec, known)
    errors += _computed_problems(ontology, spec, known)
    errors += _coverage_problems(ontology, spec)
    return errors


def _header_problems(spec: MappingSpec) -> list[FieldError]:
    errors: list[FieldError] = []
    if not INSTANCE_ID.fullmatch(spec.id):
        message = "use 1 to 255 letters, digits, _ : . or -"
        errors.append(FieldError(("id",), "invalid_id", message))
    if not spec.dataset:
        errors.append(FieldError(("dataset",), "required", "name the dataset"))
    try:
        zoneinfo.ZoneInfo(spec.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        message = f"{spec.timezone!r} is not an IANA time zone (e.g. UTC, Asia/Seoul)"
        errors.append(FieldError(("timezone",), "unknown_timezone", message))
    return errors


def _column_problem(column: str, known: set[str], path: Path) -> list[FieldError]:
    if column in known:
        return []
    return [FieldError(path, "unknown_column", f"the dataset has no column {column!r}")]


def _property_problems(
    ontology: Ontology, spec: MappingSpec, known: set[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    for index, item in enumerate(spec.properties):
        path = ("properties", str(index))
        errors += _column_problem(item.column, known, (*path, "column"))
        errors += _member_problem(ontology, spec.class_id, item.property, path)
    return errors


def _member_problem(
    ontology: Ontology, class_id: str, name: str, path: Path
) -> list[FieldError]:
    if ontology.effective_property(class_id, name) is not None:
        return []
    message = f"{name!r} is not a property of {class_id}"
    return [FieldError((*path, "property"), "unknown_property", message)]


def _relationship_problems(
    ontology: Ontology, spec: MappingSpec, known: set[str]
) -> list[FieldError]:
    predicates = {r.predicate for r in ontology.effective_relationships(spec.class_id)}
    errors: list[FieldError] = []
    for index, item in enumerate(spec.relationships):
        path = ("relationships", str(index))
        errors += _column_problem(item.column, known, (*path, "column"))
        if item.predicate not in predicates:
            message = f"{item.predicate!r} is not a relationship of {spec.class_id}"
            errors.append(
                FieldError((*path, "predicate"), "unknown_relationship", message)
            )
    errors += _twice(
        [r.predicate for r in spec.relationships], "relationships", "predicate"
    )
    return errors


def _computed_problems(
    ontology: Ontology, spec: MappingSpec, known: set[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    for index, item in enumerate(spec.computed):
        path = ("computed", str(index))
        errors += _member_problem(ontology, spec.class_id, item.property, path)
        names = template_columns(item.template)
        if names is None or not names:
            message = "use column names in braces, e.g. '{order_id}-{line_no}'"
            errors.append(FieldError((*path, "template"), "invalid_template", message))
            continue
        for name in names:
            errors += _column_problem(name, known, (*path, "template"))
    return errors


def _coverage_problems(ontology: Ontology, spec: MappingSpec) -> list[FieldError]:
    """The key must come from somewhere, a required property without a default too,
    and no property may be fed twice."""
    targets = [p.property for p in spec.properties] + [
        t.property for t in spec.computed
    ]
    errors = _twice(targets, "properties", "property")
    key = ontology.primary_key_of(spec.class_id)
    if key is None:
        message = f"{spec.class_id} has no primary key, so objectify cannot identify instances"
        return [*errors, FieldError(("classId",), "missing_primary_key", message)]
    if key not in targets:
        message = f"map a column or a template to the primary key {key!r}"
        errors.append(FieldError(("properties",), "unmapped_primary_key", message))
    errors += [
        FieldError(
            ("properties",),
            "unmapped_required",
            f"{prop.name} is required and has no default: map a column to it",
        )
        for prop in ontology.effective_properties(spec.class_id)
        if prop.required
        and prop.default is None
        and prop.name != key
        and prop.name not in targets
    ]
    return errors


def _twice(names: Iterable[str], where: str, member: str) -> list[FieldError]:
    seen: set[str] = set()
    errors: list[FieldError] = []
    for name in names:
        if name in seen:
            message = f"{name!r} is mapped more than once"
            errors.append(FieldError((where,), f"duplicate_{member}", message))
        seen.add(name)
    return errors
