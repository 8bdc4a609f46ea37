"""Inputs of the system schema: class definitions and their members (SPEC §4.1)."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.results import CommandState
from schema.scalars import JSON


@strawberry.enum
class Cardinality(Enum):
    ONE_TO_ONE = "ONE_TO_ONE"
    ONE_TO_MANY = "ONE_TO_MANY"
    MANY_TO_ONE = "MANY_TO_ONE"
    MANY_TO_MANY = "MANY_TO_MANY"


@strawberry.enum
class DanglingPolicy(Enum):
    REJECT = "REJECT"
    ALLOW = "ALLOW"


@strawberry.input
class InverseInput:
    predicate: str
    label: str | None = strawberry.UNSET


@strawberry.input
class PropertyInput:
    name: str
    type: str
    label: str | None = strawberry.UNSET
    label_i18n: JSON | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    unique: bool | None = strawberry.UNSET
    default: JSON | None = strawberry.UNSET
    constraints: JSON | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class RelationshipInput:
    predicate: str
    target: strawberry.ID
    cardinality: Cardinality
    label: str | None = strawberry.UNSET
    label_i18n: JSON | None = strawberry.UNSET
    inverse: InverseInput | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    dangling_policy: DanglingPolicy | None = strawberry.UNSET


@strawberry.input
class ClassInput:
    id: strawberry.ID
    label: str
    label_i18n: JSON | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    description_i18n: JSON | None = strawberry.UNSET
    parent: strawberry.ID | None = strawberry.UNSET
    abstract: bool | None = strawberry.UNSET
    primary_key: str | None = strawberry.UNSET
    title_key: str | None = strawberry.UNSET
    properties: list[PropertyInput] | None = strawberry.UNSET
    relationships: list[RelationshipInput] | None = strawberry.UNSET


@strawberry.input(
    description="Top-level fields to replace; absent fields stay as they are."
)
class ClassPatch:
    label: str | None = strawberry.UNSET
    label_i18n: JSON | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    description_i18n: JSON | None = strawberry.UNSET
    parent: strawberry.ID | None = strawberry.UNSET
    abstract: bool | None = strawberry.UNSET
    primary_key: str | None = strawberry.UNSET
    title_key: str | None = strawberry.UNSET
    properties: list[PropertyInput] | None = strawberry.UNSET
    relationships: list[RelationshipInput] | None = strawberry.UNSET


MIGRATION_PLAN_DOC = """Required for a breaking change (type change, removal of a
property with data, key change, ...) and carried out in the same command: an
object `{"steps": [...]}` whose steps rewrite every live instance of the class
and its subclasses. Steps: `{"op": "rename", "from": "a", "to": "b"}`,
`{"op": "convert", "property": "p"}` (to its new type: "42" becomes 42),
`{"op": "split", "property": "p", "into": ["a", "b"], "separator": " "}` (or
`"pattern"`, a regex with one group per name) and `{"op": "remove", "property":
"p"}`. A value that does not convert fails the whole change with a
ValidationError naming each instance; nothing is written. Key and relationship
changes take a plan without steps. At most 10,000 instances per change."""


@strawberry.input(description="Which commands to list; absent fields match any.")
class CommandWhere:
    db: str | None = strawberry.UNSET
    branch: str | None = strawberry.UNSET
    aggregate_id: str | None = strawberry.UNSET
    actor: str | None = strawberry.UNSET
    status: list[CommandState] | None = strawberry.UNSET
