"""Unique claims inside the append transaction: the state of every key a group
of batches claims, each batch settled in order, and the rows to write.

Race-free twice over: positions are locked per database before anything is read
(lock_positions), so appends to one database decide one after another; and the
rows' primary key (db, scope, key, branch, seq) fails an append that decided
from a state another writer has since moved."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, String, bindparam, func, select, true
from sqlalchemy.dialects import postgresql

from adapters import tables as t
from adapters.event_store.lineage import visible_clause
from domain.claims import Claim, Settlement, settle
from domain.ports import BranchSpan, CommandBatch

_KEY_CHUNK = 500
_COLUMNS = tuple(column.name for column in t.unique_claims.columns)
_PG_TYPES = {"seq": "integer", "position": "bigint"}
_NAMES = ", ".join(f'"{name}"' for name in _COLUMNS)
_POSTGRES_INSERT = (
    f"INSERT INTO unique_claims ({_NAMES}) SELECT * FROM unnest("
    + ", ".join(
        f"${i}::{_PG_TYPES.get(name, 'text')}[]"
        for i, name in enumerate(_COLUMNS, start=1)
    )
    + ")"
)
_SQLITE_INSERT = (
    f"INSERT INTO unique_claims ({_NAMES}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
)

# (db, branch, scope, key)
BookKey = tuple[str, str, str, str]


@dataclass(slots=True)
class ClaimBook:
    """(seq, holder) of every key the group claims, as each branch sees it;
    accepted batches move it, so later batches of the group see their claims."""

    state: dict[BookKey, tuple[int, str | None]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def settle(self, batch: CommandBatch) -> Settlement:
        holders = {
            (c.scope, c.key): self.state.get(_book_key(batch, c), (0, None))[1]
            for c in batch.claims
        }
        return settle(batch.claims, holders)

    def record(
        self,
        batch: CommandBatch,
        settled: Settlement,
        position_of: Callable[[str], int],
    ) -> None:
        """Rows for the keys the batch changed; `position_of(holder)` is the
        position the change becomes visible at (a freed key: its old holder's)."""
        for (scope, key), holder in sorted(settled.changes.items()):
            book_key = (batch.db, batch.branch, scope, key)
            before = self.state.get(book_key, (0, None))
            mover = holder if holder is not None else before[1]
            seq = before[0] + 1
            self.state[book_key] = (seq, holder)
            self.rows.append(
                {
                    "db": batch.db,
                    "scope": scope,
                    "key": key,
                    "branch": batch.branch,
                    "seq": seq,
                    "position": position_of(mover or ""),
                    "holder": holder,
                }
            )


def load_book(
    conn: Connection,
    batches: Sequence[CommandBatch],
    lineages: Mapping[tuple[str, str], Sequence[BranchSpan]],
) -> ClaimBook:
    wanted: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for batch in batches:
        wanted[(batch.db, batch.branch)].update((c.scope, c.key) for c in batch.claims)
    state: dict[BookKey, tuple[int, str | None]] = {}
    for (db, branch), keys in wanted.items():
        found = claim_states(conn, db, keys, lineages[(db, branch)])
        state.update(
            ((db, branch, scope, key), value) for (scope, key), value in found.items()
        )
    return ClaimBook(state)


def claim_states(
    conn: Connection,
    db: str,
    keys: Iterable[tuple[str, str]],
    lineage: Sequence[BranchSpan],
) -> dict[tuple[str, str], tuple[int, str | None]]:
    """(seq, holder) of each key with a row visible through the lineage: the
    row with the highest seq, as seqs continue across forks."""
    u = t.unique_claims
    by_scope: dict[str, list[str]] = defaultdict(list)
    for scope, key in sorted(set(keys)):
        by_scope[scope].append(key)
    postgres = conn.dialect.name == "postgresql"
    found: dict[tuple[str, str], tuple[int, str | None]] = {}
    for scope, scope_keys in by_scope.items():
        for start in range(0, len(scope_keys), _KEY_CHUNK):
            chunk = scope_keys[start : start + _KEY_CHUNK]
            if postgres:
                params = {"db": db, "scope": scope, "keys": chunk}
                rows = conn.execute(_postgres_query(tuple(lineage)), params)
            else:
                query = select(u.c.key, u.c.seq, u.c.holder).where(
                    u.c.db == db,
                    u.c.scope == scope,
                    u.c.key.in_(chunk),
                    visible_clause(u, lineage),
                )
                rows = conn.execute(query)
            for key, seq, holder in rows:
                if seq > found.get((scope, key), (0, None))[0]:
                    found[(scope, key)] = (int(seq), holder)
    return found


@functools.lru_cache(maxsize=256)
def _postgres_query(lineage: tuple[BranchSpan, ...]) -> Select[Any]:
    """The newest visible row of each key, one index probe per key: before the
    table has statistics, PostgreSQL answered the IN list by scanning every
    claim of the database (200 ms per 500 keys at 30,000 rows)."""
    u = t.unique_claims
    keys = (
        func.unnest(bindparam("keys", type_=postgresql.ARRAY(String)))
        .table_valued("key")
        .render_derived(name="keys")
    )
    newest = (
        select(u.c.seq, u.c.holder)
        .where(
            u.c.db == bindparam("db"),
            u.c.scope == bindparam("scope"),
            u.c.key == keys.c.key,
            visible_clause(u, lineage),
        )
        .order_by(u.c.seq.desc())
        .limit(1)
        .lateral("newest")
    )
    return select(keys.c.key, newest.c.seq, newest.c.holder).select_from(
        keys.join(newest, true())
    )


def insert_claims(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """The rows in one statement through the driver, as events are
    (event_rows.py): SQLAlchemy's executemany cost more than the database."""
    columns = [[row[name] for row in rows] for name in _COLUMNS]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_POSTGRES_INSERT, tuple(columns))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT, list(zip(*columns, strict=True)))
    else:
        conn.execute(t.unique_claims.insert(), list(rows))


def latest_positions(
    conn: Connection, batches: Sequence[CommandBatch]
) -> dict[tuple[str, str, str], int]:
    """The last position of each (db, branch, aggregate type) a batch asks to
    have stayed quiet (CommandBatch.quiet_since)."""
    e = t.events
    wanted = {
        (b.db, b.branch, aggregate_type)
        for b in batches
        for aggregate_type in b.quiet_since
    }
    found: dict[tuple[str, str, str], int] = {}
    for db, branch, aggregate_type in sorted(wanted):
        query = select(func.max(e.c.position)).where(
            e.c.db == db, e.c.branch == branch, e.c.aggregate_type == aggregate_type
        )
        found[(db, branch, aggregate_type)] = int(conn.execute(query).scalar() or 0)
    return found


def _book_key(batch: CommandBatch, claim: Claim) -> BookKey:
    return (batch.db, batch.branch, claim.scope, claim.key)
