"""Async SQLAlchemy engines for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


T = TypeVar("T")


def normalize_sql_url(url: str) -> str:
    """Maps user-facing URLs onto async drivers (`postgresql://` -> asyncpg)."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


@dataclass(frozen=True, slots=True)
class SqlDatabase:
    """One database reached through two engines: writes and reads.

    On SQLite every write transaction starts with BEGIN IMMEDIATE, so two writers
    queue on the busy timeout instead of failing on a read-to-write lock upgrade;
    reads use plain deferred transactions and, in WAL mode, never block writers.
    On PostgreSQL both engines are the same.
    """

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    # SQLite has one writer: queueing writers of this process on an asyncio lock
    # avoids SQLite's busy handler, which sleeps in millisecond steps.
    write_lock: asyncio.Lock | None = None
    # SQLite only: a synchronous engine for `run_write`, so a whole transaction
    # costs one worker-thread hop instead of one per statement.
    sync_writer: Engine | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.writer.dialect.name == "sqlite"

    @property
    def dialect(self) -> str:
        return str(self.writer.dialect.name)

    async def execute_all(self, statements: Sequence[tuple[Executable, Any]]) -> None:
        """Executes statements (each with its parameters, or None) in one write
        transaction; for writers that need no results back."""

        def work(conn: Connection) -> None:
            for statement, parameters in statements:
                if parameters is None:
                    conn.execute(statement)
                elif parameters:
                    conn.execute(statement, parameters)

        await self.run_write(work)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        if self.write_lock is None:
            async with self.writer.begin() as conn:
                yield conn
            return
        async with self.write_lock, self.writer.begin() as conn:
            yield conn

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """Runs `work` as one write transaction (committed if it returns)."""
        if self.sync_writer is None or self.write_lock is None:
            async with self.writer.begin() as conn:
                return await conn.run_sync(work)
        engine = self.sync_writer
        async with self.write_lock:
            return await asyncio.to_thread(_sync_transaction, engine, work)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        if self.sync_writer is not None:
            self.sync_writer.dispose()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def open_database(url: str) -> SqlDatabase:
    """Builds engines for a URL; nothing connects until first use."""
    url = normalize_sql_url(url)
    if not url.startswith("sqlite"):
        engine = create_async_engine(
            url, pool_size=10, max_overflow=10, pool_pre_ping=True
        )
        return SqlDatabase(url, engine, engine)
    _ensure_sqlite_dir(url)
    writer = _sqlite_engine(url, immediate=True)
    reader = _sqlite_engine(url, immediate=False)
    sync_url = url.replace("sqlite+aiosqlite://", "sqlite://", 1)
    sync_writer = create_engine(
        sync_url, connect_args={"timeout": 60, "check_same_thread": False}
    )
    _install_sqlite_hooks(sync_writer, immediate=True)
    return SqlDatabase(url, writer, reader, asyncio.Lock(), sync_writer)


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    # NullPool would reconnect per transaction; a small static pool keeps the
    # per-connection pragmas and avoids reopening the file.
    engine = create_async_engine(
        url,
        connect_args={"timeout": 60},
        poolclass=NullPool if ":memory:" in url else None,
    )
    _install_sqlite_hooks(engine.sync_engine, immediate=immediate)
    return engine


def _install_sqlite_hooks(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sync_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.begin() as conn:
        return work(conn)
