"""CommandStatusView and the rejection log on SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from adapters import tables as t
from adapters.sql_engine import SqlDatabase
from adapters.tracking import rows
from adapters.views.sql_common import upsert
from projections.status import STAGE_BY_CONSUMER
from projections.views import CommandFilter, CommandStatus

_CONSUMER_OF_STAGE = {"APPLIED": "graph", "INDEXED": "search"}
_MARK_STAGE = (
    f"INSERT INTO {t.command_stages.name} (command_id, stage, at)"
    f" SELECT command_id, ?, ? FROM {t.commands.name}"
    " WHERE db = ? AND last_position > ? AND last_position <= ?"
    " ON CONFLICT DO NOTHING"
)
_SCAN_ROUNDS = 10


class SqlCommandStatusView:
    def __init__(self, database: SqlDatabase) -> None:
        self._db = database

    async def record_rejection(
        self,
        *,
        command_id: str,
        db: str,
        branch: str,
        aggregate_id: str,
        actor: str,
        error: Mapping[str, Any],
    ) -> None:
        r = t.command_rejections
        row = {
            "command_id": command_id,
            "db": db,
            "branch": branch,
            "aggregate_id": aggregate_id,
            "actor": actor,
            "error": dict(error),
            "rejected_at": datetime.now(UTC).isoformat(),
        }
        async with self._db.write() as conn:
            stmt = upsert(conn, r).values(**row)
            stmt = stmt.on_conflict_do_update(
                index_elements=[r.c.command_id],
                set_={
                    "error": stmt.excluded.error,
                    "rejected_at": stmt.excluded.rejected_at,
                },
            )
            await conn.execute(stmt)

    async def mark_stage(self, db: str, stage: str, *, after: int, upto: int) -> None:
        """Every command whose last event lies in (after, upto] reached the stage."""
        await self._db.run_write(
            lambda conn: mark_stage_in(conn, db, stage, after=after, upto=upto)
        )

    async def reached(self, stage: str, db: str) -> int:
        """Highest position such that every command up to it reached the stage."""
        consumer = {"APPLIED": "graph", "INDEXED": "search"}[stage]
        cp = t.consumer_checkpoints
        query = select(cp.c.position).where(cp.c.consumer == consumer, cp.c.db == db)
        async with self._db.read() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def status(self, command_id: str) -> CommandStatus | None:
        async with self._db.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(t.commands).where(t.commands.c.command_id == command_id)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return await self._rejected(conn, command_id)
            stage_rows = await conn.execute(
                select(t.command_stages.c.stage, t.command_stages.c.at).where(
                    t.command_stages.c.command_id == command_id
                )
            )
            stages: dict[str, str] = {str(s): str(at) for s, at in stage_rows}
            await self._add_reached_stages(conn, row, stages)
            failed = await conn.execute(
                select(func.count())
                .select_from(t.dead_letters)
                .where(
                    t.dead_letters.c.command_id == command_id,
                    t.dead_letters.c.status != "redriven",
                )
            )
            return _accepted_status(row, stages, failed=bool(failed.scalar()))

    async def _add_reached_stages(
        self, conn: Any, row: Any, stages: dict[str, str]
    ) -> None:
        """The checkpoints are the truth: the stage rows (written just after a
        checkpoint moves) only carry the times. A stage whose checkpoint already
        passed but whose row is not written yet is reported as reached now."""
        cp = t.consumer_checkpoints
        query = select(cp.c.consumer, cp.c.position).where(
            cp.c.db == row["db"], cp.c.consumer.in_(list(_CONSUMER_OF_STAGE.values()))
        )
        positions = {consumer: int(p) for consumer, p in await conn.execute(query)}
        now = datetime.now(UTC).isoformat()
        for stage, consumer in _CONSUMER_OF_STAGE.items():
            if stage not in stages and positions.get(consumer, 0) >= int(
                row["last_position"]
            ):
                stages[stage] = now

    async def _rejected(self, conn: Any, command_id: str) -> CommandStatus | None:
        r = t.command_rejections
        row = (
            (await conn.execute(select(r).where(r.c.command_id == command_id)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return CommandStatus(
            command_id=command_id,
            db=row["db"],
            branch=row["branch"],
            state="REJECTED",
            aggregate_id=row["aggregate_id"],
            seq=None,
            history=(("REJECTED", row["rejected_at"]),),
            error=row["error"],
        )

    async def recent(
        self, *, where: CommandFilter | None = None, limit: int = 50
    ) -> list[CommandStatus]:
        """Reads ids newest first from both logs in pages, until `limit` commands
        pass the state filter (states are derived, so they filter after reading);
        at most `_SCAN_ROUNDS` pages, so a rare state cannot scan the whole log."""
        where = where or CommandFilter()
        found: list[CommandStatus] = []
        before: str | None = None
        for _ in range(_SCAN_ROUNDS):
            page = await self._ids(where, before, limit)
            for command_id, _at in page:
                status = await self.status(command_id)
                if status is not None and (
                    not where.states or status.state in where.states
                ):
                    found.append(status)
            if len(found) >= limit or len(page) < limit:
                break
            before = page[-1][1]
        return found[:limit]

    async def _ids(
        self, where: CommandFilter, before: str | None, limit: int
    ) -> list[tuple[str, str]]:
        """(command id, time) of both logs, newest first, older than `before`."""
        c, r = t.commands, t.command_rejections
        accepted = self._matching(c, c.c.recorded_at, where, before, limit)
        rejected = self._matching(r, r.c.rejected_at, where, before, limit)
        async with self._db.read() as conn:
            rows = [(i, str(at)) for query in (accepted, rejected)
                    for i, at in await conn.execute(query)]  # fmt: skip
        rows.sort(key=lambda row: row[1], reverse=True)
        return rows[:limit]

    def _matching(
        self,
        table: Any,
        at: Any,
        where: CommandFilter,
        before: str | None,
        limit: int,
    ) -> Any:
        query = select(table.c.command_id, at).order_by(at.desc()).limit(limit)
        for column, value in (
            ("db", where.db),
            ("branch", where.branch),
            ("aggregate_id", where.aggregate_id),
            ("actor", where.actor),
        ):
            if value is not None:
                query = query.where(table.c[column] == value)
        if before is not None:
            query = query.where(at < before)
        return query


def mark_stage_in(
    conn: Connection, db: str, stage: str, *, after: int, upto: int
) -> None:
    """`mark_stage` inside the caller's transaction (plain SQL: it runs once per
    consumer batch, and building it with SQLAlchemy cost more than running it)."""
    now = datetime.now(UTC).isoformat()
    rows.execute(conn, _MARK_STAGE, (stage, now, db, after, upto))


def stage_reached(conn: Connection, consumer: str, db: str, old: int, new: int) -> None:
    """For SqlConsumerState(on_advance=...): the stage rows of a stage consumer's
    checkpoint move, written in the transaction that moves it (one write
    transaction per batch fewer; at 500 commands/s on the embedded stack the
    separate one held the write lock a quarter of the time)."""
    stage = STAGE_BY_CONSUMER.get(consumer)
    if stage is not None:
        mark_stage_in(conn, db, stage, after=old, upto=new)


def _accepted_status(
    row: Any, stages: dict[str, str], *, failed: bool
) -> CommandStatus:
    history: list[tuple[str, str]] = [("ACCEPTED", row["recorded_at"])]
    for stage in ("APPLIED", "INDEXED"):
        if stage in stages:
            history.append((stage, stages[stage]))
    state = "ACCEPTED"
    if "APPLIED" in stages:
        state = "APPLIED"
    if "INDEXED" in stages and "APPLIED" in stages:
        state = "COMPLETED"
        history.append(("COMPLETED", max(stages["APPLIED"], stages["INDEXED"])))
    elif "INDEXED" in stages:
        state = "INDEXED"
    if failed:
        state = "FAILED"
        history.append(("FAILED", history[-1][1]))
    return CommandStatus(
        command_id=row["command_id"],
        db=row["db"],
        branch=row["branch"],
        state=state,
        aggregate_id=row["aggregate_id"],
        seq=int(row["seq"]),
        history=tuple(history),
        last_position=int(row["last_position"]),
    )
