"""The HTTP application: health, readiness, metrics, and the workers in-process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.graphql import (
    GraphQLEndpoint,
    graphql_path_params,
    mount_graphql,
    watch_schemas,
)
from app.metrics import Metrics
from app.settings import Settings, get_settings

# A large read allocates tens of thousands of short-lived objects (result dicts,
# rows): with the default first threshold of 700 the young collections run
# dozens of times per request and promote them into older generations for
# nothing. Requests build no reference cycles (their loaders are dropped at the
# end), so a larger young generation costs no memory that lingers.
GC_THRESHOLDS = (20_000, 20, 20)


def freeze_long_lived() -> None:
    """Everything alive now lives as long as the process (adapters, schemas):
    keep the cyclic GC from rescanning it on every full pass (one took ~170 ms
    with a generated schema loaded). Garbage is collected first, so none of it
    is frozen for good."""
    gc.set_threshold(*GC_THRESHOLDS)
    gc.collect()
    gc.freeze()


class SpiceApp(FastAPI):
    """FastAPI with GraphQL requests handed straight to their endpoint: they skip
    the routing and middleware stack (a few hundred microseconds a request, a
    third of the budget of a by-id read). The routes stay registered, for the
    record and for anything that looks routes up."""

    graphql: GraphQLEndpoint | None = None
    metrics: Metrics | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.graphql is not None and scope["type"] in ("http", "websocket"):
            params = graphql_path_params(scope["path"])
            if params is not None:
                scope["app"] = self
                scope["path_params"] = params
                if scope["type"] == "http" and self.metrics is not None:
                    kind = "generated" if "db" in params else "system"
                    await self.metrics.observe(kind, self.graphql, scope, receive, send)
                    return
                await self.graphql(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, workers: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_container(settings) as container:
            app.state.container = container
            freeze_long_lived()
            stop = asyncio.Event()
            tasks = [asyncio.create_task(watch_schemas(endpoint, container, stop))]
            if workers:
                tasks.append(
                    asyncio.create_task(run_workers(container, WORKER_NAMES, stop))
                )
            try:
                yield
            finally:
                stop.set()
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)

    app = SpiceApp(title="SPICE", lifespan=lifespan)
    endpoint = app.graphql = mount_graphql(app)
    metrics = app.metrics = Metrics()

    @app.get("/metrics")
    async def prometheus() -> Response:
        body = await metrics.exposition(app.state.container)
        return Response(body, media_type=metrics.content_type)

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
