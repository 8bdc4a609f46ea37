"""Rebuilding the unique claims of a database from its events, in one (sync)
transaction: the alembic revision that introduced claims builds them for the
data already stored, and a drifted table can be rebuilt the same way.

Each branch is replayed in creation order (a parent before its children), its
events settled against the claims its ancestors hold as of its fork. Where the
stored data already breaks a rule (two instances sharing a unique value, from
before the rule was enforced), the first instance in position order holds the
key and the later ones are reported, not claimed: the data is left as it is,
and a write that changes such a value is checked like any other."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, select

from adapters import tables as t
from adapters.event_store.lineage import lineage_from_forks, visible_clause
from adapters.serialization import envelope_from_dict
from domain import events as ev
from domain.claim_replay import ClaimReplay
from domain.claims import Claim, settle
from domain.errors import TakenKey
from domain.events import EventEnvelope
from domain.ports import BranchSpan

_PAGE = 2000

Book = dict[tuple[str, str], tuple[int, str | None]]


@dataclass(slots=True)
class RebuildReport:
    """How many claim rows were written, and the keys stored data holds twice."""

    rows: int = 0
    duplicates: list[TakenKey] = field(default_factory=list)


def rebuild_claims(conn: Connection, dbs: Sequence[str] | None = None) -> RebuildReport:
    """Replaces the claims of the databases (default: every database with
    events) by those derived from their events."""
    if dbs is None:
        dbs = sorted(conn.execute(select(t.events.c.db).distinct()).scalars())
    report = RebuildReport()
    for db in dbs:
        conn.execute(delete(t.unique_claims).where(t.unique_claims.c.db == db))
        forks, order = _branches(conn, db)
        for branch in order:
            _rebuild_branch(conn, db, lineage_from_forks(branch, forks), report)
    return report


def _rebuild_branch(
    conn: Connection, db: str, lineage: Sequence[BranchSpan], report: RebuildReport
) -> None:
    replay = ClaimReplay(lineage[0].branch)
    book = _ancestor_claims(conn, db, lineage)
    rows: list[dict[str, Any]] = []
    for event in _events(conn, db, lineage):
        claims = replay.apply(event)
        if claims:
            rows += _settled(db, event, claims, book, report)
    if rows:
        conn.execute(t.unique_claims.insert(), rows)
    report.rows += len(rows)


def _settled(
    db: str,
    event: EventEnvelope,
    claims: Sequence[Claim],
    book: Book,
    report: RebuildReport,
) -> list[dict[str, Any]]:
    holders = {
        (c.scope, c.key): book.get((c.scope, c.key), (0, None))[1] for c in claims
    }
    settlement = settle(claims, holders)
    report.duplicates += settlement.taken
    rows = []
    for (scope, key), holder in sorted(settlement.changes.items()):
        seq = book.get((scope, key), (0, None))[0] + 1
        book[(scope, key)] = (seq, holder)
        rows.append(
            {
                "db": db,
                "scope": scope,
                "key": key,
                "branch": event.branch,
                "seq": seq,
                "position": event.position,
                "holder": holder,
            }
        )
    return rows


def _branches(
    conn: Connection, db: str
) -> tuple[dict[str, tuple[str, int]], list[str]]:
    """Each branch's (parent, fork position), and the branches parents first."""
    e = t.events
    query = (
        select(e.c.aggregate_id, e.c.data)
        .where(
            e.c.db == db,
            e.c.aggregate_type == ev.BRANCH,
            e.c.event_type == ev.BRANCH_CREATED,
        )
        .order_by(e.c.position)
    )
    forks: dict[str, tuple[str, int]] = {}
    for name, data in conn.execute(query):
        forks[name] = (data["parent"], int(data["fork_position"]))
    return forks, [ev.MAIN_BRANCH, *forks]


def _ancestor_claims(conn: Connection, db: str, lineage: Sequence[BranchSpan]) -> Book:
    """The state of every key the branch's ancestors hold as of its fork."""
    u = t.unique_claims
    query = select(u.c.scope, u.c.key, u.c.seq, u.c.holder).where(
        u.c.db == db, visible_clause(u, lineage)
    )
    book: Book = {}
    for scope, key, seq, holder in conn.execute(query):
        if seq > book.get((scope, key), (0, None))[0]:
            book[(scope, key)] = (int(seq), holder)
    return book


def _events(
    conn: Connection, db: str, lineage: Sequence[BranchSpan]
) -> Iterator[EventEnvelope]:
    """Class and instance events visible on the branch, in position order,
    a page at a time."""
    e = t.events
    after = 0
    while True:
        query = (
            select(t.events)
            .where(
                e.c.db == db,
                e.c.aggregate_type.in_((ev.CLASS, ev.INSTANCE)),
                e.c.position > after,
                visible_clause(e, lineage),
            )
            .order_by(e.c.position)
            .limit(_PAGE)
        )
        page = [envelope_from_dict(dict(r)) for r in conn.execute(query).mappings()]
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].position
