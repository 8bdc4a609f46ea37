"""Shared fixtures: database URLs per adapter, an embedded container, running workers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.migrations import upgrade
from adapters.sql_engine import open_database
from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.settings import Settings

IN_CI = os.environ.get("CI") == "true"
SERVICE_HINT = (
    'start it with: scripts/services.sh up {name} && eval "$(scripts/services.sh env)"'
)


def require_service(variable: str, name: str) -> str:
    """The URL of a real service; in CI a missing one is a failure, locally a skip."""
    value = os.environ.get(variable)
    if value:
        return value
    message = f"{variable} is not set; {SERVICE_HINT.format(name=name)}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _with_database(admin_url: str, name: str) -> str:
    return f"{admin_url.rpartition('/')[0]}/{name}"


async def _admin_execute(admin_url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _migrated_template(admin_url: str, name: str) -> None:
    await _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    database = open_database(_with_database(admin_url, name))
    try:
        await upgrade(database)
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str]]:
    """One migrated database per test session; each test copies it (CREATE DATABASE
    ... TEMPLATE is far faster than migrating) and drops its copy afterwards."""
    admin = require_service("SPICE_TEST_POSTGRES_URL", "postgres")
    name = f"spice_template_{uuid.uuid4().hex[:12]}"
    _run_outside_loop(_migrated_template(admin, name))
    yield admin, name
    _run_outside_loop(
        _admin_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    )


def _run_outside_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Session fixtures may be first requested from inside a test's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@asynccontextmanager
async def copied_database(template: tuple[str, str]) -> AsyncIterator[str]:
    admin, source = template
    name = f"spice_test_{uuid.uuid4().hex[:12]}"
    await _admin_execute(admin, f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        yield _with_database(admin, name)
    finally:
        await _admin_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def postgres_database(postgres_template: tuple[str, str]) -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database for one test (dropped afterwards)."""
    async with copied_database(postgres_template) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}"
        return
    # The session template is sync, so it may be looked up from here; the copy is
    # made inline (an async fixture cannot be requested dynamically).
    async with copied_database(request.getfixturevalue("postgres_template")) as url:
        yield url


# The bootstrap admin token of every test app (SPICE_ADMIN_TOKEN): test clients
# send it unless a test is about authentication itself.
ADMIN_TOKEN = "spice-test-admin-token-0123456789abcdef"  # noqa: S105 - tests only
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# graphql-transport-ws: browsers cannot set headers, the token comes in here.
CONNECTION_INIT = {"type": "connection_init", "payload": ADMIN_HEADERS}


# Settings that come with a parametrized database_url (its stack, tests/stacks.py):
# make_settings applies them before a test's own overrides.
STACK_SETTINGS: dict[str, dict[str, object]] = {}


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "admin_token": ADMIN_TOKEN,
        "database_url": database_url,
        "search_url": f"sqlite:///{tmp_path / 'search.db'}",
        "bus_url": "memory://",
        "blob_url": f"file://{tmp_path / 'blobs'}",
        "retry_base_delay": 0.001,
        "retry_attempts": 3,
        "consumer_max_wait": 0.01,
        "relay_poll_interval": 0.01,
    }
    values.update(STACK_SETTINGS.get(database_url, {}))
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    async with open_container(settings) as built:
        yield built


@pytest.fixture
async def running(container: Container) -> AsyncIterator[Container]:
    """The container with the relay and every projection consumer running."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(container, WORKER_NAMES, stop))
    try:
        yield container
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
