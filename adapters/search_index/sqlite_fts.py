"""SearchIndex on SQLite FTS5 (embedded default): one current document per
instance and branch, guarded by seq, with typed JSON filters and full text."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError

from adapters.errors import StoreUnavailable
from adapters.search_index.body import body_text
from adapters.serialization import canonical_json
from adapters.sql_engine import SqlDatabase
from domain.ports import FieldFilter, SearchDocument

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_OPERATORS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _schema(prefix: str) -> list[str]:
    docs, fts = f"{prefix}_docs", f"{prefix}_fts"
    return [
        f"""CREATE TABLE IF NOT EXISTS {docs} (
            rowid INTEGER PRIMARY KEY, db TEXT NOT NULL, branch TEXT NOT NULL,
            class_id TEXT NOT NULL, instance_id TEXT NOT NULL, seq INTEGER NOT NULL,
            position INTEGER NOT NULL, deleted INTEGER NOT NULL, data TEXT NOT NULL,
            body TEXT NOT NULL, indexed_at TEXT,
            UNIQUE (db, class_id, instance_id, branch))""",
        f"CREATE INDEX IF NOT EXISTS ix_{docs}_class ON {docs} (db, branch, class_id)",
        f"""CREATE VIRTUAL TABLE IF NOT EXISTS {fts}
            USING fts5(body, content='{docs}', content_rowid='rowid')""",
        f"""CREATE TRIGGER IF NOT EXISTS {docs}_ai AFTER INSERT ON {docs} BEGIN
            INSERT INTO {fts}(rowid, body) VALUES (new.rowid, new.body); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {docs}_ad AFTER DELETE ON {docs} BEGIN
            INSERT INTO {fts}({fts}, rowid, body) VALUES ('delete', old.rowid, old.body); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {docs}_au AFTER UPDATE ON {docs} BEGIN
            INSERT INTO {fts}({fts}, rowid, body) VALUES ('delete', old.rowid, old.body);
            INSERT INTO {fts}(rowid, body) VALUES (new.rowid, new.body); END""",
    ]


class SqliteFtsSearchIndex:
    """Table names come from a fixed prefix chosen by the composition root, never
    from input; every value goes through bound parameters."""

    def __init__(self, database: SqlDatabase, *, prefix: str = "search") -> None:
        if not _FIELD.match(prefix):
            raise ValueError(f"invalid table prefix {prefix!r}")
        self._db = database
        self.prefix = prefix
        self.docs = f"{prefix}_docs"
        self._fts = f"{prefix}_fts"
        self._ready = False

    async def open(self) -> None:
        if self._ready:
            return
        # Every read and write opens first: its driver errors must translate too.
        try:
            async with self._db.write() as conn:
                for statement in _schema(self.prefix):
                    await conn.execute(text(statement))
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"search index unavailable: {error}") from error
        self._ready = True

    async def close(self) -> None:
        return None

    async def drop(self) -> None:
        async with self._db.write() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {self._fts}"))
            await conn.execute(text(f"DROP TABLE IF EXISTS {self.docs}"))
        self._ready = False

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        await self.open()
        now = datetime.now(UTC).isoformat()
        statement = text(
            f"""INSERT INTO {self.docs} (db, branch, class_id, instance_id, seq, position,
                deleted, data, body, indexed_at)
            VALUES (:db, :branch, :class_id, :instance_id, :seq, :position, :deleted, :data,
                :body, :indexed_at)
            ON CONFLICT (db, class_id, instance_id, branch) DO UPDATE SET
                seq = excluded.seq, position = excluded.position, deleted = excluded.deleted,
                data = excluded.data, body = excluded.body, indexed_at = excluded.indexed_at
            WHERE excluded.seq > {self.docs}.seq"""
        )
        rows = [_row(d, now) for d in documents]
        try:
            await self._db.execute_all([(statement, rows)])
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"search index unavailable: {error}") from error

    async def get_many(
        self, db: str, branches: Sequence[str], instance_keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str, str], SearchDocument]:
        await self.open()
        found: dict[tuple[str, str, str], SearchDocument] = {}
        keys = sorted(set(instance_keys))
        for start in range(0, len(keys), 200):
            chunk = keys[start : start + 200]
            params: dict[str, Any] = {"db": db}
            pairs = []
            for i, (class_id, instance_id) in enumerate(chunk):
                params[f"k{i}"], params[f"i{i}"] = class_id, instance_id
                pairs.append(f"(class_id = :k{i} AND instance_id = :i{i})")
            branch_sql = _in_list("b", branches, params)
            query = f"SELECT * FROM {self.docs} WHERE db = :db AND branch IN ({branch_sql}) AND ({' OR '.join(pairs)})"
            for doc in await self._fetch(query, params):
                found[(doc.branch, doc.class_id, doc.instance_id)] = doc
        return found

    async def search(
        self,
        db: str,
        branches: Sequence[str],
        *,
        text: str | None = None,
        class_ids: Sequence[str] | None = None,
        filters: Sequence[FieldFilter] = (),
        limit: int = 20,
    ) -> list[SearchDocument]:
        if not branches:
            # No branch, nothing visible; the overlay of no branch would be "()",
            # a syntax error that surfaced as a retriable StoreUnavailable.
            return []
        await self.open()
        params: dict[str, Any] = {"db": db, "limit": limit}
        where = ["d.db = :db", "d.deleted = 0", _overlay(self.docs, branches, params)]
        if class_ids is not None:
            where.append(
                f"d.class_id IN ({_in_list('c', class_ids, params) or 'NULL'})"
            )
        where.extend(_filter_sql(f, i, params) for i, f in enumerate(filters))
        source = f"{self.docs} d"
        order = "d.class_id, d.instance_id"
        match = _match_expression(text)
        if match:
            source += f" JOIN {self._fts} f ON f.rowid = d.rowid"
            where.append(f"{self._fts} MATCH :match")
            params["match"] = match
            order = f"bm25({self._fts}), d.instance_id"
        query = f"SELECT d.* FROM {source} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT :limit"
        return await self._fetch(query, params)

    async def content_hash(self, db: str | None = None) -> str:
        await self.open()
        query = f"SELECT * FROM {self.docs}"
        params: dict[str, Any] = {}
        if db is not None:
            query += " WHERE db = :db"
            params["db"] = db
        query += " ORDER BY db, class_id, instance_id, branch"
        digest = hashlib.sha256()
        for doc in await self._fetch(query, params):
            digest.update(
                canonical_json(
                    [
                        doc.db,
                        doc.class_id,
                        doc.instance_id,
                        doc.branch,
                        doc.seq,
                        doc.position,
                        doc.deleted,
                        doc.data,
                    ]
                ).encode()
            )
        return digest.hexdigest()

    async def _fetch(self, query: str, params: dict[str, Any]) -> list[SearchDocument]:
        try:
            async with self._db.read() as conn:
                rows = (await conn.execute(text(query), params)).mappings().all()
        except (OperationalError, InterfaceError, OSError) as error:
            raise StoreUnavailable(f"search index unavailable: {error}") from error
        return [_document(row) for row in rows]


def _row(d: SearchDocument, now: str) -> dict[str, Any]:
    return {
        "db": d.db,
        "branch": d.branch,
        "class_id": d.class_id,
        "instance_id": d.instance_id,
        "seq": d.seq,
        "position": d.position,
        "deleted": int(d.deleted),
        "data": canonical_json(dict(d.data)),
        "body": body_text(d),
        "indexed_at": now,
    }


def _document(row: Any) -> SearchDocument:
    return SearchDocument(
        db=row["db"],
        branch=row["branch"],
        class_id=row["class_id"],
        instance_id=row["instance_id"],
        seq=int(row["seq"]),
        position=int(row["position"]),
        deleted=bool(row["deleted"]),
        data=json.loads(row["data"]),
        indexed_at=row["indexed_at"],
    )


def _in_list(name: str, values: Sequence[str], params: dict[str, Any]) -> str:
    keys = []
    for i, value in enumerate(values):
        params[f"{name}{i}"] = value
        keys.append(f":{name}{i}")
    return ", ".join(keys)


def _overlay(docs: str, branches: Sequence[str], params: dict[str, Any]) -> str:
    """A document is visible on the first branch of the lineage that holds one."""
    cases = []
    for k, _branch in enumerate(branches):
        params[f"ob{k}"] = branches[k]
        earlier = ", ".join(f":ob{j}" for j in range(k))
        shadowed = (
            f" AND NOT EXISTS (SELECT 1 FROM {docs} o WHERE o.db = d.db AND o.class_id = d.class_id"
            f" AND o.instance_id = d.instance_id AND o.branch IN ({earlier}))"
            if k
            else ""
        )
        cases.append(f"(d.branch = :ob{k}{shadowed})")
    return "(" + " OR ".join(cases) + ")"


def _filter_sql(f: FieldFilter, index: int, params: dict[str, Any]) -> str:
    if not _FIELD.match(f.field):
        raise ValueError(f"invalid field name {f.field!r}")
    column = f"json_extract(d.data, '$.{f.field}')"
    key = f"f{index}"
    if f.op in _OPERATORS:
        params[key] = f.value
        numeric = isinstance(f.value, int | float) and not isinstance(f.value, bool)
        expr = f"CAST({column} AS REAL)" if numeric else column
        return f"{expr} {_OPERATORS[f.op]} :{key}"
    if f.op == "in":
        return f"{column} IN ({_in_list(key, list(f.value), params) or 'NULL'})"
    if f.op == "contains":
        params[key] = f"%{_escape_like(str(f.value))}%"
        return f"{column} LIKE :{key} ESCAPE '\\'"
    raise ValueError(f"unknown filter operator {f.op!r}")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _match_expression(query: str | None) -> str | None:
    """User text to an FTS5 expression: every word quoted (so no operator injection),
    all required, the last one as a prefix."""
    if not query:
        return None
    # FTS5 ends a query string at a NUL byte ("unterminated string"): split there too.
    words = [w for w in re.split(r"[\s\x00]+", query.strip()) if w]
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


async def swap_from_shadow(
    live: SqliteFtsSearchIndex, shadow: SqliteFtsSearchIndex, horizon: dict[str, int]
) -> None:
    """In one transaction: live documents up to the horizon are replaced by the
    shadow's (newer live documents stay); the FTS triggers follow the rows."""
    await live.open()
    columns = "db, branch, class_id, instance_id, seq, position, deleted, data, body, indexed_at"
    async with live._db.write() as conn:
        for db, position in horizon.items():
            params = {"db": db, "position": position}
            await conn.execute(
                text(
                    f"DELETE FROM {live.docs} WHERE db = :db AND position <= :position"
                ),
                params,
            )
            await conn.execute(
                text(
                    f"INSERT INTO {live.docs} ({columns}) SELECT {columns} FROM {shadow.docs}"
                    " WHERE db = :db AND position <= :position ON CONFLICT DO NOTHING"
                ),
                params,
            )
