"""Who is asking and what they may do: roles per database, the principal of a
request, and the access rules (row filters, column masks) of its reads.

Pure values: authentication (app/security) builds a Principal, the one
authorization seam (app/security/seam.py) checks it before any resolver runs,
and reads ask `AccessRules` which rows and columns a principal may see.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
            raise ValueError(f"unknown role {name!r}; expected one of {known}") from None


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
