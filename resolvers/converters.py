"""Read models and domain values -> system schema output types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

from domain.errors import FieldError as DomainFieldError
from domain.ontology import (
    ClassDef,
    LintIssue,
    LocalizedText,
    PropertyDef,
    RelationshipDef,
)
from projections.base import DeadLetter as DeadLetterRecord
from projections.views import AuditEntry as AuditRecord
from projections.views import BranchRecord, CommandStatus, DatabaseRecord
from resolvers.commands import field_errors
from schema import inputs, types
from schema.results import CommandState
from schema.scalars import JSON, DateTime


def database(record: DatabaseRecord) -> types.Database:
    return types.Database(
        name=record.name,
        description=record.description,
        seq=record.seq,
        created_at=DateTime(record.created_at),
        created_by=record.created_by,
    )


def branch(record: BranchRecord) -> types.Branch:
    return types.Branch(
        db=record.db,
        name=record.name,
        parent=record.parent,
        fork_position=record.fork_position,
        seq=record.seq,
        created_at=DateTime(record.created_at),
    )


def _text(text: LocalizedText | None, lang: str | None) -> str | None:
    return text.resolve(lang) if text is not None else None


def ontology_class(
    classdef: ClassDef, *, seq: int, lang: str | None
) -> types.OntologyClass:
    return types.OntologyClass(
        id=strawberry.ID(classdef.id),
        label=classdef.label.resolve(lang),
        labels=JSON({"default": classdef.label.default, **classdef.label.translations}),
        description=_text(classdef.description, lang),
        parent=classdef.parent,
        abstract=classdef.abstract,
        deprecated=classdef.deprecated,
        primary_key=classdef.primary_key,
        title_key=classdef.title_key,
        seq=seq,
        properties=[_property(p, lang) for p in classdef.properties],
        relationships=[_relationship(r, lang) for r in classdef.relationships],
    )


def _property(prop: PropertyDef, lang: str | None) -> types.OntologyProperty:
    return types.OntologyProperty(
        name=prop.name,
        type=str(prop.type),
        label=_text(prop.label, lang),
        description=_text(prop.description, lang),
        required=prop.required,
        unique=prop.unique,
        default=prop.default,
        constraints=JSON(dict(prop.constraints)),
    )


def _relationship(rel: RelationshipDef, lang: str | None) -> types.OntologyRelationship:
    inverse = rel.inverse
    return types.OntologyRelationship(
        predicate=rel.predicate,
        target=rel.target,
        label=_text(rel.label, lang),
        cardinality=inputs.Cardinality[rel.cardinality.name],
        inverse=None
        if inverse is None
        else types.OntologyInverse(
            predicate=inverse.predicate, label=_text(inverse.label, lang)
        ),
        required=rel.required,
        dangling_policy=inputs.DanglingPolicy[rel.dangling_policy.name],
    )


def lint_issue(issue: LintIssue) -> types.LintIssue:
    return types.LintIssue(
        severity=issue.severity,
        code=issue.code,
        class_id=issue.class_id,
        message=issue.message,
        path=list(issue.path),
    )


def command_error(error: Mapping[str, Any] | None) -> types.CommandError | None:
    if error is None:
        return None
    details = {k: v for k, v in error.items() if k not in ("code", "message", "errors")}
    problems = [
        DomainFieldError(
            tuple(e.get("path", ())), str(e.get("code")), str(e.get("message"))
        )
        for e in error.get("errors", ())
    ]
    return types.CommandError(
        code=str(error.get("code", "error")),
        message=str(error.get("message", "")),
        errors=field_errors(problems),
        details=JSON(details),
    )


def command(status: CommandStatus) -> types.Command:
    return types.Command(
        id=strawberry.ID(status.command_id),
        db=status.db,
        branch=status.branch,
        status=CommandState(status.state),
        history=[
            types.StatusChange(status=CommandState(state), at=DateTime(at))
            for state, at in status.history
        ],
        error=command_error(status.error),
        aggregate_id=status.aggregate_id,
        seq=status.seq,
        position=status.last_position,
    )


def dead_letter(record: DeadLetterRecord) -> types.DeadLetter:
    event = record.event
    return types.DeadLetter(
        id=record.id,
        consumer=record.consumer,
        status=record.status,
        error_type=record.error_type,
        error=record.error,
        attempts=record.attempts,
        created_at=DateTime(record.created_at),
        event_id=event.event_id,
        event_type=event.event_type,
        db=event.db,
        branch=event.branch,
        aggregate_id=event.aggregate_id,
        seq=event.seq,
        position=event.position,
        command_id=event.command_id,
    )


def audit_entry(entry: AuditRecord) -> types.AuditEntry:
    return types.AuditEntry(
        db=entry.db,
        position=entry.position,
        branch=entry.branch,
        event_type=entry.event_type,
        aggregate_type=entry.aggregate_type,
        aggregate_id=entry.aggregate_id,
        seq=entry.seq,
        actor=entry.actor,
        command_id=entry.command_id,
        occurred_at=DateTime(entry.occurred_at),
    )
