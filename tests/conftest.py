"""Shared fixtures: database URLs per adapter, an embedded container, running workers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.settings import Settings

IN_CI = os.environ.get("CI") == "true"
SERVICE_HINT = "start it with: scripts/services.sh up {name} && eval \"$(scripts/services.sh env)\""


def require_service(variable: str, name: str) -> str:
    """The URL of a real service; in CI a missing one is a failure, locally a skip."""
    value = os.environ.get(variable)
    if value:
        return value
    message = f"{variable} is not set; {SERVICE_HINT.format(name=name)}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


async def _fresh_postgres_database(admin_url: str) -> str:
    import asyncpg

    name = f"spice_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}"
    admin = require_service("SPICE_TEST_POSTGRES_URL", "postgres")
    return await _fresh_postgres_database(admin)


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": database_url,
        "search_url": f"sqlite:///{tmp_path / 'search.db'}",
        "bus_url": "memory://",
        "blob_url": f"file://{tmp_path / 'blobs'}",
        "retry_base_delay": 0.001,
        "retry_attempts": 3,
        "consumer_max_wait": 0.01,
        "relay_poll_interval": 0.01,
    }
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
