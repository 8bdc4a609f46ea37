"""GraphQL types of the system schema's security operations (SPEC §7.1)."""

from __future__ import annotations

import enum

import strawberry

from schema.scalars import JSON, DateTime


@strawberry.enum(description="Roles per database, each including the ones before it.")
class Role(enum.Enum):
    VIEWER = "VIEWER"
    EDITOR = "EDITOR"
    DATA_ENGINEER = "DATA_ENGINEER"
    OWNER = "OWNER"
    ADMIN = "ADMIN"


@strawberry.input(description='A role on a database; db "*" means every database.')
class GrantInput:
    db: str
    role: Role


@strawberry.type
class RoleGrant:
    db: str
    role: Role


@strawberry.type(description="A created API token: `secret` is shown this once only.")
class TokenResult:
    id: strawberry.ID
    name: str
    secret: str
    grants: list[RoleGrant]
    expires_at: DateTime | None


@strawberry.type(description="An API token as stored (never its secret).")
class TokenInfo:
    id: strawberry.ID
    name: str
    grants: list[RoleGrant]
    created_by: str
    created_at: DateTime
    expires_at: DateTime | None
    revoked_at: DateTime | None


@strawberry.type
class PrincipalGrant:
    principal: str
    db: str
    role: Role


@strawberry.type
class Me:
    principal: str
    kind: str
    roles: list[RoleGrant]


@strawberry.type
class AccessPolicy:
    db: str
    class_id: strawberry.ID
    role: Role
    row_filter: JSON | None
    mask_fields: list[str]
    updated_by: str
    updated_at: DateTime
