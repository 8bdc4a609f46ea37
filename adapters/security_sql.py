"""SecurityStore on SQL: API tokens (hashed), role grants, access policies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import RowMapping, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import tables as t
from adapters.sql_engine import SqlDatabase
from adapters.views.sql_common import upsert
from domain.security import Grant, PolicyRecord, Role, TokenRecord


class SqlSecurityStore:
    def __init__(self, database: SqlDatabase) -> None:
        self._db = database

    async def add_token(self, token: TokenRecord) -> None:
        row = {
            "token_id": token.token_id,
            "name": token.name,
            "secret_hash": token.secret_hash,
            "grants": _grants_json(token.grants),
            "created_by": token.created_by,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "revoked_at": token.revoked_at,
        }
        async with self._db.write() as conn:
            await conn.execute(t.security_tokens.insert().values(**row))

    async def token(self, token_id: str) -> TokenRecord | None:
        query = select(t.security_tokens).where(
            t.security_tokens.c.token_id == token_id
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _token(row)

    async def tokens(self, *, created_by: str | None) -> list[TokenRecord]:
        tokens = t.security_tokens
        query = select(tokens).order_by(tokens.c.created_at.desc()).limit(1000)
        if created_by is not None:
            query = query.where(tokens.c.created_by == created_by)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_token(row) for row in rows]

    async def revoke_token(self, token_id: str, at: str) -> TokenRecord | None:
        tokens = t.security_tokens
        async with self._db.write() as conn:
            query = select(tokens).where(tokens.c.token_id == token_id)
            row = (await conn.execute(query)).mappings().first()
            if row is None:
                return None
            if row["revoked_at"] is None:
                await conn.execute(
                    update(tokens)
                    .where(tokens.c.token_id == token_id)
                    .values(revoked_at=at)
                )
        return _token(row)

    async def grants_of(self, principal: str) -> frozenset[Grant]:
        grants = t.security_grants
        query = select(grants.c.db, grants.c.role).where(
            grants.c.principal == principal
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return frozenset(Grant(db, Role[role]) for db, role in rows)

    async def set_grant(self, principal: str, grant: Grant, by: str, at: str) -> None:
        row = {
            "principal": principal,
            "db": grant.db,
            "role": grant.role.name,
            "granted_by": by,
            "granted_at": at,
        }
        async with self._db.write() as conn:
            await _put(conn, t.security_grants, row, ("principal", "db"))

    async def remove_grant(self, principal: str, db: str) -> bool:
        grants = t.security_grants
        statement = delete(grants).where(
            grants.c.principal == principal, grants.c.db == db
        )
        async with self._db.write() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def grants_in(self, db: str) -> list[tuple[str, Grant]]:
        grants = t.security_grants
        query = (
            select(grants.c.principal, grants.c.role)
            .where(grants.c.db == db)
            .order_by(grants.c.principal)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [(principal, Grant(db, Role[role])) for principal, role in rows]

    async def set_policy(self, policy: PolicyRecord) -> None:
        row = {
            "db": policy.db,
            "class_id": policy.class_id,
            "role": policy.role.name,
            "row_filter": policy.row_filter,
            "mask_fields": list(policy.mask_fields),
            "updated_by": policy.updated_by,
            "updated_at": policy.updated_at,
        }
        async with self._db.write() as conn:
            await _put(conn, t.access_policies, row, ("db", "class_id", "role"))

    async def remove_policy(self, db: str, class_id: str, role: Role) -> bool:
        policies = t.access_policies
        statement = delete(policies).where(
            policies.c.db == db,
            policies.c.class_id == class_id,
            policies.c.role == role.name,
        )
        async with self._db.write() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def policies(self, db: str) -> list[PolicyRecord]:
        policies = t.access_policies
        query = (
            select(policies)
            .where(policies.c.db == db)
            .order_by(policies.c.class_id, policies.c.role)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_policy(row) for row in rows]


async def _put(
    conn: AsyncConnection, table: Table, row: dict[str, Any], keys: tuple[str, ...]
) -> None:
    """Insert, or replace the row with the same key."""
    statement = upsert(conn, table).values(**row)
    changed = {k: v for k, v in row.items() if k not in keys}
    await conn.execute(
        statement.on_conflict_do_update(index_elements=keys, set_=changed)
    )


def _grants_json(grants: Iterable[Grant]) -> list[dict[str, str]]:
    ordered = sorted(grants, key=lambda g: (g.db, g.role))
    return [{"db": g.db, "role": g.role.name} for g in ordered]


def _token(row: RowMapping | Mapping[str, Any]) -> TokenRecord:
    return TokenRecord(
        token_id=row["token_id"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        grants=frozenset(Grant(g["db"], Role[g["role"]]) for g in row["grants"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


def _policy(row: RowMapping | Mapping[str, Any]) -> PolicyRecord:
    return PolicyRecord(
        db=row["db"],
        class_id=row["class_id"],
        role=Role[row["role"]],
        row_filter=row["row_filter"],
        mask_fields=tuple(row["mask_fields"]),
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )
