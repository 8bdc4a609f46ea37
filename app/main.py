"""The HTTP application: health, readiness, metrics, and the workers in-process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.graphql import mount_graphql
from app.settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, workers: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_container(settings) as container:
            app.state.container = container
            stop = asyncio.Event()
            task = (
                asyncio.create_task(run_workers(container, WORKER_NAMES, stop))
                if workers
                else None
            )
            try:
                yield
            finally:
                stop.set()
                if task is not None:
                    await asyncio.wait_for(task, timeout=10)

    app = FastAPI(title="SPICE", lifespan=lifespan)
    mount_graphql(app)

    @app.get("/health")
    async def health() -> JSONResponse:
        checks = await _dependency_checks(app.state.container)
        healthy = all(c["status"] == "ok" for c in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", "dependencies": checks},
            200 if healthy else 503,
        )

    @app.get("/ready")
    async def ready() -> JSONResponse:
        checks = await _dependency_checks(app.state.container)
        ok = checks["event_store"]["status"] == "ok"
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    return app


async def _dependency_checks(container: Container) -> dict[str, dict[str, Any]]:
    database = await _probe(_sql_ping(container.database))
    return {
        "event_store": database,
        # The SQL graph store lives in the same database: one ping answers both.
        "graph_store": database,
        "search_index": await _probe(_search_ping(container)),
        "message_bus": {
            "status": "ok",
            "kind": "durable" if container.bus.durable else "in-process",
        },
    }


async def _search_ping(container: Container) -> None:
    # Through the port, so SQLite FTS and a search cluster are checked alike.
    await container.search.search("health-check", ["main"], limit=1)


async def _sql_ping(database: Any) -> None:
    async with database.read() as conn:
        await conn.execute(text("SELECT 1"))


async def _probe(check: Any) -> dict[str, Any]:
    try:
        await asyncio.wait_for(check, timeout=2)
    except Exception as error:
        return {"status": "down", "error": type(error).__name__}
    return {"status": "ok"}
