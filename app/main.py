"""The HTTP application: health, readiness, metrics, and the workers in-process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import text
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from adapters.graph_store.sql import SqlGraphStore
from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.change_reason import bound_reason
from app.cors import cors_response_headers, handle_preflight, with_headers
from app.graphql import (
    GraphQLEndpoint,
    graphql_path_params,
    mount_graphql,
    watch_schemas,
)
from app.graphql.endpoint import REQUEST_ID_KEY
from app.graphql.ide import ide_assets
from app.metrics import Metrics
from app.observability.logging import bind_request, request_id_of
from app.security.admin_token import admin_secret
from app.security.authenticator import Unauthenticated
from app.security.gate import PRINCIPAL_KEY, authenticate, is_open, refuse
from app.security.service import Security
from app.settings import Settings, get_settings
from domain.events import MAIN_BRANCH
from domain.ids import DATABASE_NAME
from domain.ports import BranchSpan, ReadScope
from domain.security import Principal, Role
from projections.views import SYSTEM_DB

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
    record and for anything that looks routes up.

    Authentication runs here, before either path: no route, present or future,
    is reached over HTTP without a valid token unless app/security/gate.py
    lists it as open."""

    graphql: GraphQLEndpoint | None = None
    metrics: Metrics | None = None
    security: Security | None = None
    cors_origins: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await super().__call__(scope, receive, send)  # lifespan
            return
        if scope["type"] == "http":
            # CORS first: a browser's preflight carries no credentials.
            if await handle_preflight(scope, receive, send, self.cors_origins):
                return
            send = with_headers(send, cors_response_headers(scope, self.cors_origins))
        params = graphql_path_params(scope["path"]) if self.graphql else None
        request_id = request_id_of(Headers(scope=scope))
        scope[REQUEST_ID_KEY] = request_id
        with bind_request(request_id, "-"):
            if scope["type"] == "http" and not await self._authenticated(
                scope, send, params
            ):
                return
        principal = scope.get(PRINCIPAL_KEY)
        with (
            bind_request(request_id, principal.name if principal else "-"),
            bound_reason(Headers(scope=scope)),
        ):
            await self._dispatch(scope, receive, send, params)

    async def _authenticated(
        self, scope: Scope, send: Send, params: dict[str, str] | None
    ) -> bool:
        settings = self.state.container.settings if self.security else None
        public = bool(settings and settings.metrics_public)
        if is_open(scope, metrics_public=public, ide_path=params is not None):
            return True
        if self.security is None:  # not started: nothing may be served yet
            await refuse(send, Unauthenticated("The server is starting."))
            return False
        try:
            await authenticate(scope, self.security)
        except Unauthenticated as error:
            client = scope.get("client") or ("?", 0)
            db = (params or {}).get("db", "")
            # Only a name a database can have picks its chain (no junk chains).
            db = db if DATABASE_NAME.match(db) else ""
            await self.security.unauthenticated(
                db, scope["path"], client[0], str(error)
            )
            await refuse(send, error)
            return False
        return True

    async def _dispatch(
        self, scope: Scope, receive: Receive, send: Send, params: dict[str, str] | None
    ) -> None:
        if params is not None and self.graphql is not None:
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
            security = Security(
                settings,
                container.security_store,
                admin_secret(settings),
                container.audit_trail,
            )
            spice.security = endpoint.security = security
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

    # No OpenAPI pages: the API is GraphQL (GraphiQL serves its docs), and
    # FastAPI's pages would load their scripts from a CDN.
    app = spice = SpiceApp(
        title="SPICE",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.cors_origins = list(settings.cors_origins)
    # GraphiQL's own scripts and styles, from this server (no CDN): open paths.
    app.mount("/graphiql/assets", ide_assets)
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

    @app.get("/audit/{db}/export")
    async def audit_export(db: str, request: Request) -> Response:
        """The audit chain of `db` as JSON lines (OWNER of `db`; "_system" for
        an ADMIN), each line re-hashable with projections.audit.entry_hash."""
        principal: Principal = request.scope[PRINCIPAL_KEY]
        if not principal.may(Role.OWNER, "*" if db == SYSTEM_DB else db):
            body = {"errors": [{"message": f"OWNER role required on {db!r}.",
                                "extensions": {"code": "FORBIDDEN"}}]}  # fmt: skip
            return JSONResponse(body, status_code=403)
        trail = app.state.container.audit_trail
        return StreamingResponse(
            _json_lines(trail.export(db)), media_type="application/x-ndjson"
        )

    return app


async def _json_lines(entries: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for entry in entries:
        yield orjson.dumps(entry) + b"\n"


async def _dependency_checks(container: Container) -> dict[str, dict[str, Any]]:
    database = await _probe(_sql_ping(container.database))
    return {
        "event_store": database,
        # The SQL graph store lives in the same database: one ping answers both;
        # a graph store on its own server (TerminusDB) is asked itself.
        "graph_store": database
        if isinstance(container.graph, SqlGraphStore)
        # Its first call also connects (three requests): more time than a ping.
        else await _probe(_graph_ping(container), within=5),
        "search_index": await _probe(_search_ping(container)),
        "message_bus": {
            "status": "ok",
            "kind": "durable" if container.bus.durable else "in-process",
        },
    }


async def _search_ping(container: Container) -> None:
    # Through the port, so SQLite FTS and a search cluster are checked alike.
    await container.search.search("health-check", ["main"], limit=1)


async def _graph_ping(container: Container) -> None:
    # Through the port: a read the server must answer (a database nobody has).
    scope = ReadScope(
        db="health-check", lineage=[BranchSpan(branch=MAIN_BRANCH, until_position=None)]
    )
    await container.graph.count(scope, ["HealthCheck"])


async def _sql_ping(database: Any) -> None:
    async with database.read() as conn:
        await conn.execute(text("SELECT 1"))


async def _probe(check: Any, within: float = 2) -> dict[str, Any]:
    try:
        await asyncio.wait_for(check, timeout=within)
    except Exception as error:
        return {"status": "down", "error": type(error).__name__}
    return {"status": "ok"}
