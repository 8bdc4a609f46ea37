"""Async SQLAlchemy engines for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from adapters import sqlite_functions
from adapters.errors import StoreUnavailable
from adapters.serialization import dumps_exact, loads_exact

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
    On PostgreSQL both share one pool, and reads run in autocommit.
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
    # SQLite only: the same for `fetch` (hot reads).
    sync_reader: Engine | None = None
    # SQLite only: point reads on the event loop's thread (`fetch(small=True)`).
    inline: InlineReader | None = None

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

    async def fetch(
        self, sql: str, params: Sequence[Any], *, small: bool = False
    ) -> list[Any]:
        """Rows of one read-only statement in the driver's own SQL and parameter
        style (`?` on SQLite, `$1` on PostgreSQL): for hot reads, which then cost
        no statement building or compiling, and on SQLite one thread hop, or
        none for a `small` read (a few rows by key)."""
        try:
            if small and self.inline is not None:
                rows = self.inline.fetch(sql, params)
                if rows is not None:
                    return rows
            if self.sync_reader is not None:
                return await asyncio.to_thread(
                    _sync_fetch, self.sync_reader, sql, params
                )
        except sqlite3.Error as error:
            # The DB-API's own error: raised as SQLAlchemy's, like every other path.
            raise DBAPIError.instance(sql, params, error, sqlite3.Error) from error
        return await self._fetch_postgres(sql, params)

    async def _fetch_postgres(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """On the driver's own connection, checked out of SQLAlchemy's pool:
        SQLAlchemy's statement and result layers cost about 150 µs a read, as
        much as PostgreSQL takes to answer a by-id read. Rows are asyncpg
        records (indexable and unpackable like tuples); the JSON columns decode
        through the codec SQLAlchemy installed on the connection."""
        async with self.reader.connect() as conn:
            pooled = await conn.get_raw_connection()
            driver: Any = pooled.driver_connection  # set while checked out
            try:
                return list(await driver.fetch(sql, *params))
            except Exception as error:
                raise _translated_asyncpg_error(pooled, sql, params, error) from error

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        if self.inline is not None:
            self.inline.close()
        for engine in (self.sync_writer, self.sync_reader):
            if engine is not None:
                engine.dispose()
        await self.writer.dispose()
        if self.reader.sync_engine.pool is not self.writer.sync_engine.pool:
            await self.reader.dispose()


def _translated_asyncpg_error(
    pooled: Any, sql: str, params: Sequence[Any], error: Exception
) -> Exception:
    """asyncpg's error as SQLAlchemy's, as every other path raises them. A lost
    connection, or a server shutting down, is an OperationalError, and the
    connection leaves the pool (SQLAlchemy would invalidate it too)."""
    import asyncpg

    lost = (
        OSError,
        ConnectionError,
        asyncio.TimeoutError,
        asyncpg.InterfaceError,
        # The protocol's state broke (a read racing the server's termination
        # notice): the connection cannot be used again, like a lost one.
        asyncpg.InternalClientError,
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.OperatorInterventionError,
    )
    if isinstance(error, lost):
        pooled.invalidate(error)
        return OperationalError(sql, tuple(params), error)
    if isinstance(error, asyncpg.PostgresError):
        return DBAPIError(sql, tuple(params), error)
    return error


# What the driver raises when the database cannot be reached (or went away).
DRIVER_OUTAGES = (OperationalError, InterfaceError, OSError)


@asynccontextmanager
async def reading_or_unavailable(
    database: SqlDatabase, what: str
) -> AsyncIterator[AsyncConnection]:
    """A read connection whose outages, on checkout or in any statement, raise
    StoreUnavailable naming `what`. A pooled connection is not pinged when it was
    in use a moment ago, so a database that just went down shows at the first
    statement, not at checkout."""
    try:
        async with database.read() as conn:
            yield conn
    except DRIVER_OUTAGES as error:
        raise StoreUnavailable(f"{what} unavailable: {error}") from error


def open_database(url: str) -> SqlDatabase:
    """Builds engines for a URL; nothing connects until first use."""
    url = normalize_sql_url(url)
    if not url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            pool_size=10,
            max_overflow=10,
            json_serializer=dumps_exact,
            json_deserializer=loads_exact,
        )
        _ping_when_idle(engine.sync_engine)
        # Reads run in autocommit: under READ COMMITTED every statement takes its
        # own snapshot anyway, and asyncpg would wrap each read in BEGIN and
        # ROLLBACK, three round trips for one query. Same pool as the writer.
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        return SqlDatabase(url, engine, reader)
    _ensure_sqlite_dir(url)
    writer = _sqlite_engine(url, immediate=True)
    reader = _sqlite_engine(url, immediate=False)
    sync_url = url.replace("sqlite+aiosqlite://", "sqlite://", 1)
    sync_writer = create_engine(
        sync_url,
        connect_args={"timeout": 60, "check_same_thread": False},
        json_serializer=dumps_exact,
        json_deserializer=loads_exact,
    )
    _install_sqlite_hooks(sync_writer, immediate=True)
    # An in-memory database exists per connection: no second engine can see it.
    sync_reader = inline = None
    path = make_url(url).database
    if path and ":memory:" not in url:
        sync_reader = create_engine(
            sync_url,
            connect_args={"timeout": 60, "check_same_thread": False},
            json_serializer=dumps_exact,
            json_deserializer=loads_exact,
        )
        _install_sqlite_hooks(sync_reader, immediate=False)
        inline = InlineReader(path)
    return SqlDatabase(
        url, writer, reader, asyncio.Lock(), sync_writer, sync_reader, inline
    )


class InlineReader:
    """SQLite reads of a few rows run on the calling (event loop) thread: such a
    read takes tens of microseconds, less than handing it to a worker thread
    costs. In WAL mode a reader never waits for writers; should the file be busy
    anyway (recovery, a checkpoint holding a lock), the read gives up after a few
    milliseconds and the caller uses a worker thread instead."""

    BUSY_MS = 5

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def fetch(self, sql: str, params: Sequence[Any]) -> list[Any] | None:
        try:
            return self._connection().execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return None
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout={self.BUSY_MS}")
            conn.execute("PRAGMA query_only=ON")
            sqlite_functions.install(conn)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# A pooled connection unused for longer than this is checked with a ping before
# use, so one broken by a database restart is replaced without the caller
# seeing an error. A busy pool hands out connections used moments ago: pinging
# every checkout (pool_pre_ping) cost asyncpg three round trips (BEGIN, the
# ping, ROLLBACK) on every read and every transaction.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if (
            idle_since is None
            or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS
        ):
            return  # new, or in use a moment ago
        try:
            dbapi_connection.ping()
        except Exception as error:
            # The pool drops this connection and checks out another (or a new one).
            raise DisconnectionError(f"pooled connection is gone: {error}") from error


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
        json_serializer=dumps_exact,
        json_deserializer=loads_exact,
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
        sqlite_functions.install(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sync_fetch(engine: Engine, sql: str, params: Sequence[Any]) -> list[Any]:
    # The DB-API connection straight from the pool: the connections are in
    # autocommit mode (see _on_connect), so one SELECT reads one snapshot and
    # needs no BEGIN/ROLLBACK around it.
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()
    finally:
        conn.close()


def _sync_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.begin() as conn:
        return work(conn)
