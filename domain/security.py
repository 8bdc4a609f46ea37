"""Who is asking and what they may do: roles per database, the principal of a
request, and the access rules (row filters, column masks) of its reads.

Pure values: authentication (app/security) builds a Principal, the one
authorization seam (app/security/seam.py) checks it before any resolver runs,
and reads ask `AccessRules` which rows and columns a principal may see.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

ALL_DATABASES = "*"  # a grant on every database (the bootstrap admin's)


class Role(enum.IntEnum):
    """Ordered: a role may do everything the roles below it may."""

    VIEWER = 1  # reads
    EDITOR = 2  # writes instances
    DATA_ENGINEER = 3  # datasets and pipelines
    OWNER = 4  # ontology, branches, policies and grants of a database
    ADMIN = 5  # everything, creates databases

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            known = ", ".join(r.name for r in cls)
            raise ValueError(
                f"unknown role {name!r}; expected one of {known}"
            ) from None


@dataclass(frozen=True, slots=True)
class Grant:
    db: str
    role: Role


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a name and its roles per database."""

    name: str
    grants: frozenset[Grant] = frozenset()
    kind: str = "token"  # token | jwt | admin | system

    def role_in(self, db: str) -> Role | None:
        """The highest role this principal holds in `db` (or on every database)."""
        best: Role | None = None
        for grant in self.grants:
            if grant.db in (db, ALL_DATABASES) and (best is None or grant.role > best):
                best = grant.role
        return best

    def may(self, role: Role, db: str) -> bool:
        held = self.role_in(db)
        return held is not None and held >= role

    @property
    def is_admin(self) -> bool:
        return self.may(Role.ADMIN, ALL_DATABASES)

    def databases(self) -> frozenset[str]:
        """Databases named by a grant (ALL_DATABASES among them for an admin)."""
        return frozenset(g.db for g in self.grants)


# Work the server does on its own behalf (workers, rebuilds, the CLI): it reads
# and writes everything and is recorded as "system".
SYSTEM = Principal("system", frozenset({Grant(ALL_DATABASES, Role.ADMIN)}), "system")
# Before authentication has run; may do nothing.
ANONYMOUS = Principal("anonymous", frozenset(), "anonymous")


@dataclass(frozen=True, slots=True)
class ClassAccess:
    """What one role may see of one class: rows matching `row_filter` (a `where`
    of the class, None for all) and every property but `masked`."""

    row_filter: Mapping[str, Any] | None = None
    masked: frozenset[str] = frozenset()

    @property
    def unrestricted(self) -> bool:
        return self.row_filter is None and not self.masked


UNRESTRICTED = ClassAccess()


@dataclass(frozen=True, slots=True)
class AccessRules:
    """The access policies that apply to one request, by class id. Classes
    without an entry are unrestricted; so is everything for an OWNER or ADMIN."""

    by_class: Mapping[str, ClassAccess] = field(default_factory=dict)

    def of(self, class_id: str) -> ClassAccess:
        return self.by_class.get(class_id, UNRESTRICTED)

    @property
    def empty(self) -> bool:
        return not self.by_class


NO_RULES = AccessRules()


# --- stored security state ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as stored: never its secret, only the secret's hash."""

    token_id: str
    name: str
    secret_hash: str
    grants: frozenset[Grant]
    created_by: str
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    db: str
    class_id: str
    role: Role
    row_filter: Mapping[str, Any] | None
    mask_fields: tuple[str, ...]
    updated_by: str
    updated_at: str


class SecurityStore(Protocol):
    """Tokens, grants and access policies (adapters/security_sql.py)."""

    async def add_token(self, token: TokenRecord) -> None: ...

    async def token(self, token_id: str) -> TokenRecord | None: ...

    async def tokens(self, *, created_by: str | None) -> list[TokenRecord]:
        """Tokens created by `created_by` (every token for None), newest first."""
        ...

    async def revoke_token(self, token_id: str, at: str) -> TokenRecord | None:
        """The token as it was before this revocation (None when unknown)."""
        ...

    async def grants_of(self, principal: str) -> frozenset[Grant]: ...

    async def set_grant(
        self, principal: str, grant: Grant, by: str, at: str
    ) -> None: ...

    async def remove_grant(self, principal: str, db: str) -> bool: ...

    async def grants_in(self, db: str) -> list[tuple[str, Grant]]: ...

    async def set_policy(self, policy: PolicyRecord) -> None: ...

    async def remove_policy(self, db: str, class_id: str, role: Role) -> bool: ...

    async def policies(self, db: str) -> list[PolicyRecord]: ...


# --- API token format ----------------------------------------------------------
# `spice_<id>_<secret>`: the id finds the stored record, the secret (256 random
# bits) is compared by its sha256 in constant time.

TOKEN_PREFIX = "spice_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True, slots=True)
class MintedToken:
    token_id: str
    secret: str  # the whole bearer value; shown once, never stored

    @property
    def secret_hash(self) -> str:
        return secret_hash(self.secret)


def mint_token() -> MintedToken:
    token_id = secrets.token_hex(8)
    return MintedToken(
        token_id, f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    )


def token_id_of(bearer: str) -> str | None:
    """The id part of an API token, or None when the value is not one."""
    if not bearer.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, rest = bearer[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(token_id) != 16 or not rest:
        return None
    if any(c not in "0123456789abcdef" for c in token_id):
        return None
    return token_id


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)
