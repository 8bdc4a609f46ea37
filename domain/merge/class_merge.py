"""Deciding a class merge, and checking the merged ontology before it is written.

The merged classes become ordinary class events on the target (defined when
the target lacks the class, else updated, each carrying the full definition as
class_handlers writes them), checked as class commands are: each definition is
valid against the merged ontology, no change is breaking for the target's data
(a merge carries no migration plan), and lint finds no error the target's
ontology did not already have. Otherwise the merge is refused (ValidationFailed)
and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain import events as ev
from domain.errors import FieldError, ValidationFailed
from domain.events import NewEvent
from domain.merge.class_sides import ClassPlan, Definitions
from domain.merge.classes import ontology_key, rebuilt
from domain.merge.resolve import Resolution, resolve
from domain.merge.three_way import MergeConflict, Strategy
from domain.ontology import (
    ClassDef,
    Ontology,
    breaking_changes,
    class_to_dict,
    lint,
    validate_class_definition,
)
from domain.ontology.serde import parse_class


@dataclass(frozen=True, slots=True)
class ClassWrite:
    """One class stream append decided by the merge."""

    class_id: str
    expected_seq: int
    event: NewEvent
    classdef: ClassDef


@dataclass(frozen=True, slots=True)
class MergedOntology:
    """The target's ontology after the merge, and the class appends that make it."""

    ontology: Ontology
    writes: list[ClassWrite]


def decide_classes(
    plan: ClassPlan,
    *,
    strategy: Strategy,
    resolutions: Sequence[Resolution] = (),
) -> Definitions:
    """The merged definition of every class the source changed; MergeConflict
    (with each conflict's class) for what is left unresolved under FAIL."""
    try:
        final = resolve(plan.merges, strategy=strategy, resolutions=resolutions)
    except MergeConflict as conflict:
        raise MergeConflict(conflict.conflicts, plan.classes()) from None
    sides = plan.sides
    return {
        k: rebuilt(
            k, final, (sides.target.get(k), sides.source.get(k), sides.base.get(k))
        )
        for k in sides.class_ids
    }


def class_resolution(
    class_id: str, member: str, field: str, take: Any, value: Any, index: int
) -> Resolution:
    """A client's resolution of a class member's field, keyed as its merge object."""
    return Resolution(ontology_key(class_id, member), field, take, value, index)


def merged_ontology(
    target: Ontology,
    merged: Definitions,
    seqs: Mapping[str, int],
    *,
    with_data: frozenset[str],
) -> MergedOntology:
    """Validates the merged classes onto `target`; `with_data` are the classes
    (by id) whose instances exist on the target, for the breaking-change rules."""
    # Unchanged classes are validated too (cheap) and then write nothing.
    changed = {k: d for k, d in merged.items() if d is not None}
    view = _provisional(target, changed)
    classdefs, errors = _validated(view, changed)
    ontology = target
    for classdef in classdefs:
        ontology = ontology.with_class(classdef)
    errors += _breaking(target, classdefs, with_data)
    errors += _new_lint_errors(target, ontology)
    if errors:
        raise ValidationFailed(
            errors=errors, summary="the merged ontology is not valid on the target"
        )
    writes = [_write(target, c, seqs.get(c.id, 0)) for c in classdefs]
    return MergedOntology(ontology, [w for w in writes if w is not None])


def _provisional(
    target: Ontology, changed: Mapping[str, Mapping[str, Any]]
) -> Ontology:
    """The target with every merged class that parses: merged classes may refer
    to each other (a new class and a relationship to it)."""
    view = target
    for definition in changed.values():
        parsed = parse_class(definition)
        if parsed.classdef is not None and not parsed.errors:
            view = view.with_class(parsed.classdef)
    return view


def _validated(
    view: Ontology, changed: Mapping[str, Mapping[str, Any]]
) -> tuple[list[ClassDef], list[FieldError]]:
    classdefs: list[ClassDef] = []
    errors: list[FieldError] = []
    for class_id, definition in sorted(changed.items()):
        # `view` holds every merged class, so each is checked as an update of it.
        classdef, problems = validate_class_definition(view, definition, is_update=True)
        errors += [_under(("classes", class_id), p) for p in problems]
        if classdef is not None:
            classdefs.append(classdef)
    return classdefs, errors


def _breaking(
    target: Ontology, classdefs: Sequence[ClassDef], with_data: frozenset[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    for classdef in classdefs:
        current = target.get(classdef.id)
        if current is not None:
            problems = breaking_changes(
                current, classdef, has_data=classdef.id in with_data
            )
            errors += [_under(("classes", classdef.id), p) for p in problems]
    return errors


def _new_lint_errors(target: Ontology, merged: Ontology) -> list[FieldError]:
    """Lint errors of the merged ontology the target did not have: a merge is
    not refused for what is already wrong on the target."""
    before = {
        (i.class_id, i.code, i.path) for i in lint(target) if i.severity == "error"
    }
    return [
        FieldError(("classes", i.class_id, *i.path), i.code, i.message)
        for i in lint(merged)
        if i.severity == "error" and (i.class_id, i.code, i.path) not in before
    ]


def _write(target: Ontology, classdef: ClassDef, seq: int) -> ClassWrite | None:
    current = target.get(classdef.id)
    definition = class_to_dict(classdef)
    if current is not None and class_to_dict(current) == definition:
        return None
    kind = ev.CLASS_DEFINED if current is None else ev.CLASS_UPDATED
    event = NewEvent(event_type=kind, data={"definition": definition})
    return ClassWrite(classdef.id, seq, event, classdef)


def _under(prefix: tuple[str, ...], error: FieldError) -> FieldError:
    return FieldError((*prefix, *error.path), error.code, error.message)
