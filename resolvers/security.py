"""Tokens, grants, access policies and `me` (SPEC §7.1).

The seam (app/security/seam.py) already checked each field's rule; these
resolvers add what a rule cannot say: a token grants at most its creator's
roles, a grant never exceeds the granter's own role, only a token's creator or
an ADMIN revokes it. Every change, and every refusal, goes into the audit chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import strawberry

from domain.errors import NotFoundError
from domain.ontology import Ontology
from domain.security import (
    Grant,
    PolicyRecord,
    Role,
    TokenRecord,
    mint_token,
)
from domain.write_model import BranchContext
from resolvers.context import Context
from resolvers.denials import audit, forbidden
from resolvers.errors import RequestError
from resolvers.instances.policies import check_policy
from schema import security_types as types
from schema.ontology.names import camel
from schema.scalars import JSON, DateTime

Info = strawberry.Info[Context, None]
MAX_NAME = 200
# Built-in principals: a token of that name would be taken for them in the audit.
RESERVED_NAMES = frozenset({"admin", "system", "anonymous"})


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _role(value: types.Role) -> Role:
    return Role[value.value]


def _grants(grants: Sequence[Grant]) -> list[types.RoleGrant]:
    ordered = sorted(grants, key=lambda g: (g.db, g.role))
    return [types.RoleGrant(db=g.db, role=types.Role(g.role.name)) for g in ordered]


def _name(value: str, what: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_NAME or any(ord(c) < 32 for c in value):
        raise RequestError(f"{what} must be 1-{MAX_NAME} printable characters")
    return value


# --- queries -------------------------------------------------------------------


def me(info: Info) -> types.Me:
    principal = info.context.principal
    return types.Me(
        principal=principal.name,
        kind=principal.kind,
        roles=_grants(list(principal.grants)),
    )


async def grants(info: Info, db: str) -> list[types.PrincipalGrant]:
    found = await info.context.ports.security.grants_in(db)
    return [
        types.PrincipalGrant(principal=p, db=g.db, role=types.Role(g.role.name))
        for p, g in found
    ]


async def access_policies(info: Info, db: str) -> list[types.AccessPolicy]:
    return [_policy(p) for p in await info.context.ports.security.policies(db)]


# --- tokens --------------------------------------------------------------------


async def create_token(
    info: Info,
    name: str,
    grants: list[types.GrantInput],
    expires_at: DateTime | None = None,
) -> types.TokenResult:
    ctx = info.context
    name = _name(name, "name")
    if name.lower() in RESERVED_NAMES:
        raise RequestError(f"{name!r} is reserved: it names a built-in principal")
    wanted = frozenset(Grant(g.db, _role(g.role)) for g in grants)
    if not wanted:
        raise RequestError("a token needs at least one grant")
    for grant in wanted:
        if not ctx.principal.may(grant.role, grant.db):
            raise await forbidden(
                ctx, grant.db, "createToken",
                f"cannot grant {grant.role.name} on {grant.db!r}: above your own role",
            )  # fmt: skip
    expiry = _expiry(expires_at)
    minted = mint_token()
    record = TokenRecord(
        token_id=minted.token_id,
        name=name,
        secret_hash=minted.secret_hash,
        grants=wanted,
        created_by=ctx.principal.name,
        created_at=_now(),
        expires_at=expiry,
    )
    await ctx.ports.security.add_token(record)
    detail = {"token": record.token_id, "name": name, "grants": _plain(wanted)}
    for db in sorted({g.db for g in wanted}):
        await audit(ctx, db, "token", "createToken", detail)
    return types.TokenResult(
        id=strawberry.ID(record.token_id),
        name=name,
        secret=minted.secret,
        grants=_grants(list(wanted)),
        expires_at=DateTime(expiry) if expiry else None,
    )


async def revoke_token(info: Info, id: strawberry.ID) -> types.TokenInfo:
    ctx = info.context
    found = await ctx.ports.security.token(str(id))
    if found is None:
        raise RequestError(f"no token {id!r}", code="NOT_FOUND")
    if found.created_by != ctx.principal.name and not ctx.principal.is_admin:
        raise await forbidden(
            ctx, "", "revokeToken", "only the token's creator or an ADMIN may revoke it"
        )
    at = _now()
    await ctx.ports.security.revoke_token(found.token_id, at)
    detail = {"token": found.token_id, "name": found.name}
    for db in sorted({g.db for g in found.grants}):
        await audit(ctx, db, "token", "revokeToken", detail)
    return _token_info(found, revoked_at=found.revoked_at or at)


async def tokens(info: Info) -> list[types.TokenInfo]:
    """Tokens the caller created (every token for an ADMIN), newest first."""
    principal = info.context.principal
    creator = None if principal.is_admin else principal.name
    found = await info.context.ports.security.tokens(created_by=creator)
    return [_token_info(t, revoked_at=t.revoked_at) for t in found]


# --- grants --------------------------------------------------------------------


async def grant_role(
    info: Info, principal: str, db: str, role: types.Role
) -> types.PrincipalGrant:
    ctx = info.context
    principal = _name(principal, "principal")
    wanted = _role(role)
    if not ctx.principal.may(wanted, db):
        raise await forbidden(
            ctx, db, "grantRole", f"cannot grant {wanted.name}: above your own role"
        )
    if wanted is Role.ADMIN and not ctx.principal.is_admin:
        raise await forbidden(ctx, db, "grantRole", "only an ADMIN grants ADMIN")
    await ctx.ports.security.set_grant(
        principal, Grant(db, wanted), ctx.principal.name, _now()
    )
    detail = {"principal": principal, "role": wanted.name}
    await audit(ctx, db, "grant", "grantRole", detail)
    return types.PrincipalGrant(principal=principal, db=db, role=role)


async def revoke_role(info: Info, principal: str, db: str) -> bool:
    ctx = info.context
    held = await ctx.ports.security.grants_of(principal)
    current = next((g.role for g in held if g.db == db), None)
    if current is not None and not ctx.principal.may(current, db):
        raise await forbidden(
            ctx, db, "revokeRole", f"cannot revoke {current.name}: above your own role"
        )
    removed = await ctx.ports.security.remove_grant(principal, db)
    if removed:
        detail = {"principal": principal, "role": current.name if current else None}
        await audit(ctx, db, "grant", "revokeRole", detail)
    return removed


# --- access policies -------------------------------------------------------------


async def set_access_policy(
    info: Info,
    db: str,
    class_id: strawberry.ID,
    role: types.Role,
    row_filter: JSON | None = None,
    mask_fields: list[str] | None = None,
) -> types.AccessPolicy | None:
    """Sets the policy of a class for a role; no filter and no masks removes it."""
    ctx = info.context
    target = _role(role)
    if target >= Role.OWNER:
        raise RequestError(
            "OWNER and ADMIN see everything: policies apply to VIEWER, EDITOR and DATA_ENGINEER"
        )
    branch = await _ontology_of(ctx, db)
    class_def = branch.ontology.classes.get(str(class_id))
    if class_def is None:
        raise RequestError(f"no class {class_id!r} in {db!r}", code="NOT_FOUND")
    masks = property_names(branch.ontology, str(class_id), mask_fields or ())
    problems = policy_problems(branch.ontology, str(class_id), row_filter, masks)
    if problems:
        reason = {"reason": "invalid access policy", "problems": problems[:10]}
        await audit(ctx, db, "denied", "setAccessPolicy", reason)
        raise RequestError(
            "invalid access policy: " + "; ".join(problems),
            details={"problems": problems},
        )
    detail = {
        "class": str(class_id),
        "role": target.name,
        "rowFilter": row_filter,
        "mask": list(masks),
    }
    if row_filter is None and not masks:
        await ctx.ports.security.remove_policy(db, str(class_id), target)
        await audit(ctx, db, "admin", "removeAccessPolicy", detail)
        return None
    record = PolicyRecord(
        db=db,
        class_id=str(class_id),
        role=target,
        row_filter=cast(dict[str, Any] | None, row_filter),
        mask_fields=masks,
        updated_by=ctx.principal.name,
        updated_at=_now(),
    )
    await ctx.ports.security.set_policy(record)
    await audit(ctx, db, "admin", "setAccessPolicy", detail)
    return _policy(record)


async def _ontology_of(ctx: Context, db: str) -> BranchContext:
    try:
        await ctx.ports.ontologies.refresh_if_stale(db)
        return await ctx.ports.ontologies.branch_context(db, "main")
    except NotFoundError as error:
        raise RequestError(error.message, code="NOT_FOUND") from error


def policy_problems(
    ontology: Ontology, class_id: str, row_filter: Any, masks: Sequence[str]
) -> list[str]:
    """What is wrong with a policy: a row filter that is not a `where` of the
    class (property and id conditions), masks naming no property or the key."""
    if row_filter is not None and not isinstance(row_filter, dict):
        return ["rowFilter must be a JSON object (a `where` of the class)"]
    return check_policy(ontology, class_id, row_filter, masks)


def property_names(
    ontology: Ontology, class_id: str, fields: Sequence[str]
) -> tuple[str, ...]:
    """Masks may name a property or its GraphQL field (`unit_price`, `unitPrice`)."""
    by_field = {camel(p.name): p.name for p in ontology.effective_properties(class_id)}
    return tuple(dict.fromkeys(by_field.get(f, f) for f in fields))


# --- helpers -----------------------------------------------------------------------


def _expiry(expires_at: DateTime | None) -> str | None:
    if expires_at is None:
        return None
    try:
        when = datetime.fromisoformat(str(expires_at))
    except ValueError as error:
        raise RequestError(f"expiresAt is not an ISO-8601 time: {error}") from None
    if when.tzinfo is None:
        raise RequestError("expiresAt needs a time zone (e.g. 2027-01-01T00:00:00Z)")
    if when <= datetime.now(UTC):
        raise RequestError("expiresAt is in the past")
    return when.astimezone(UTC).isoformat()


def _plain(grants: frozenset[Grant]) -> list[dict[str, str]]:
    return [
        {"db": g.db, "role": g.role.name}
        for g in sorted(grants, key=lambda g: (g.db, g.role))
    ]


def _token_info(
    record: TokenRecord, *, revoked_at: str | None = None
) -> types.TokenInfo:
    return types.TokenInfo(
        id=strawberry.ID(record.token_id),
        name=record.name,
        grants=_grants(list(record.grants)),
        created_by=record.created_by,
        created_at=DateTime(record.created_at),
        expires_at=DateTime(record.expires_at) if record.expires_at else None,
        revoked_at=DateTime(revoked_at) if revoked_at else None,
    )


def _policy(record: PolicyRecord) -> types.AccessPolicy:
    return types.AccessPolicy(
        db=record.db,
        class_id=strawberry.ID(record.class_id),
        role=types.Role(record.role.name),
        row_filter=cast(JSON | None, record.row_filter),
        mask_fields=list(record.mask_fields),
        updated_by=record.updated_by,
        updated_at=DateTime(record.updated_at),
    )
