"""Output types of the system schema: databases, branches, ontology, commands, audit."""

from __future__ import annotations

import strawberry

from schema.inputs import Cardinality, DanglingPolicy
from schema.results import CommandState, FieldError
from schema.scalars import JSON, DateTime


@strawberry.type
class Database:
    name: str
    description: str | None
    seq: int
    created_at: DateTime | None
    created_by: str | None


@strawberry.type
class Branch:
    db: str
    name: str
    parent: str | None
    fork_position: int | None
    seq: int
    created_at: DateTime | None


@strawberry.type
class OntologyInverse:
    predicate: str
    label: str | None


@strawberry.type
class OntologyProperty:
    name: str
    type: str
    label: str | None
    description: str | None
    required: bool
    unique: bool
    default: JSON | None
    constraints: JSON


@strawberry.type
class OntologyRelationship:
    predicate: str
    target: str
    label: str | None
    cardinality: Cardinality
    inverse: OntologyInverse | None
    required: bool
    dangling_policy: DanglingPolicy


@strawberry.type
class OntologyClass:
    id: strawberry.ID
    label: str
    labels: JSON = strawberry.field(description="Every translation of the label.")
    description: str | None
    parent: str | None
    abstract: bool
    deprecated: bool
    primary_key: str | None
    title_key: str | None
    seq: int = strawberry.field(description="Pass as expectedSeq to change the class.")
    properties: list[OntologyProperty]
    relationships: list[OntologyRelationship]


@strawberry.type
class Ontology:
    db: str
    branch: str
    version: int = strawberry.field(description="Position of the last class event.")
    classes: list[OntologyClass]


@strawberry.type
class LintIssue:
    severity: str
    code: str
    class_id: str
    message: str
    path: list[str]


@strawberry.type
class StatusChange:
    status: CommandState
    at: DateTime | None


@strawberry.type
class CommandError:
    code: str
    message: str
    errors: list[FieldError]
    details: JSON


@strawberry.type
class Command:
    id: strawberry.ID
    db: str
    branch: str
    status: CommandState
    history: list[StatusChange]
    error: CommandError | None
    aggregate_id: str
    seq: int | None
    position: int | None


@strawberry.type
class CommandStatusEvent:
    command_id: strawberry.ID
    status: CommandState
    seq: int | None
    error: CommandError | None
    at: DateTime | None


@strawberry.type
class DeadLetter:
    id: int
    consumer: str
    status: str
    error_type: str
    error: str
    attempts: int
    created_at: DateTime | None
    event_id: str
    event_type: str
    db: str
    branch: str
    aggregate_id: str
    seq: int
    position: int
    command_id: str


@strawberry.type
class AuditEntry:
    db: str
    position: int
    branch: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    seq: int
    actor: str
    command_id: str
    occurred_at: DateTime


@strawberry.type
class AuditChainReport:
    db: str
    ok: bool
    entries: int
    first_broken_seq: int | None = strawberry.field(
        description="The first entry found changed, removed or out of order."
    )
    problem: str | None


@strawberry.type(description="An entry of a database's hash-chained audit trail.")
class AuditRecord:
    seq: int
    at: DateTime
    kind: str = strawberry.field(description="command, admin, grant, token or denied")
    action: str
    principal: str
    request_id: str
    detail: JSON
    ref: str | None = strawberry.field(
        description="What the entry is about, unique per kind (a command's id)."
    )
    prev_hash: str
    hash: str
