"""Mounts GraphQL: the system schema at /graphql, each database's generated schema
at /graphql/{db} and /graphql/{db}/{branch}, over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from typing import Any

from fastapi import FastAPI
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from app.bootstrap import Container
from app.graphql_http import SpiceGraphQL, error_response
from app.settings import Settings
from domain.errors import NotFoundError
from domain.events import MAIN_BRANCH
from domain.ontology import Ontology
from resolvers.context import Limits, Ports
from schema.generated.builder import build_generated_schema
from schema.system import build_system_schema

log = logging.getLogger(__name__)

SchemaKey = tuple[str, str, int]
# Serialises schema builds: strawberry's type conversion is not meant for threads.
_BUILD_LOCK = threading.Lock()


def ports_of(container: Container, limits: Limits) -> Ports:
    return Ports(
        store=container.event_store,
        graph=container.graph,
        search=container.search,
        catalog=container.catalog,
        audit=container.audit,
        status=container.status,
        consumers=container.consumer_state,
        dispatcher=container.handlers,
        ontologies=container.handlers.model,
        waiter=container.waiter,
        limits=limits,
    )


class SchemaCache:
    """Generated endpoints per (db, branch, ontology version): each built once, off
    the event loop; concurrent requests for a version await the same build."""

    def __init__(self, *, size: int = 64) -> None:
        self._size = size
        self._builds: OrderedDict[SchemaKey, asyncio.Future[SpiceGraphQL]] = (
            OrderedDict()
        )

    async def get(
        self, key: SchemaKey, ontology: Ontology, ports: Ports, *, dev: bool
    ) -> SpiceGraphQL:
        build = self._builds.get(key)
        if build is None:
            build = asyncio.ensure_future(
                asyncio.to_thread(_build_view, key, ontology, ports, dev)
            )
            self._builds[key] = build
            while len(self._builds) > self._size:
                self._builds.popitem(last=False)
        self._builds.move_to_end(key)
        try:
            return await asyncio.shield(build)
        except Exception:
            self._builds.pop(key, None)  # let a later request try again
            raise


def _build_view(
    key: SchemaKey, ontology: Ontology, ports: Ports, dev: bool
) -> SpiceGraphQL:
    db, branch, version = key
    with _BUILD_LOCK:
        built = build_generated_schema(
            ontology,
            db=db,
            branch=branch,
            version=version,
            dev_mode=dev,
            limits=ports.limits,
        )
    for warning in built.plan.warnings:
        log.warning("schema %s/%s@%s: %s", db, branch, version, warning)
    return SpiceGraphQL(built.schema, ports, db=db, branch=branch)


def limits_of(settings: Settings) -> Limits:
    return Limits(
        default_page_size=settings.graphql_default_page_size,
        max_page_size=settings.graphql_max_page_size,
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_cost=settings.graphql_max_cost,
        max_batch=settings.graphql_max_batch,
        max_body_bytes=settings.graphql_max_body_bytes,
        introspection=settings.graphql_introspection,
    )


class GraphQLEndpoint:
    """The ASGI app behind every GraphQL route; picks the schema per request."""

    def __init__(self, limits: Limits | None = None) -> None:
        # Without explicit limits, the container's settings decide (first request).
        self._limits = limits
        self._system: SpiceGraphQL | None = None
        self._ports: Ports | None = None
        self.schemas = SchemaCache()

    def ports(self, container: Container) -> Ports:
        if self._ports is None:
            limits = self._limits or limits_of(container.settings)
            self._ports = ports_of(container, limits)
        return self._ports

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        container: Container = scope["app"].state.container
        params: dict[str, Any] = scope.get("path_params", {})
        db = params.get("db")
        if db is None:
            await self._system_view(container)(scope, receive, send)
            return
        branch = params.get("branch") or MAIN_BRANCH
        ports = self.ports(container)
        dev = container.settings.environment == "dev"
        try:
            await ports.ontologies.refresh_if_stale(db)
            ctx = await ports.ontologies.branch_context(db, branch)
        except NotFoundError as error:
            await _not_found(scope, receive, send, error.message)
            return
        key = (db, branch, ctx.ontology_version)
        view = await self.schemas.get(key, ctx.ontology, ports, dev=dev)
        await view(scope, receive, send)

    def _system_view(self, container: Container) -> SpiceGraphQL:
        if self._system is None:
            dev = container.settings.environment == "dev"
            ports = self.ports(container)
            self._system = SpiceGraphQL(
                build_system_schema(dev_mode=dev, limits=ports.limits), ports
            )
        return self._system


async def _not_found(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    if scope["type"] == "websocket":
        await WebSocket(scope, receive, send).close(code=4404, reason=message[:120])
        return
    await error_response(message, 404, "NOT_FOUND")(scope, receive, send)


def mount_graphql(app: FastAPI, *, limits: Limits | None = None) -> GraphQLEndpoint:
    """Adds the GraphQL routes; the container comes from `app.state` per request."""
    endpoint = GraphQLEndpoint(limits)
    for path in ("/graphql", "/graphql/{db}", "/graphql/{db}/{branch:path}"):
        app.router.routes.append(Route(path, endpoint, methods=["GET", "POST"]))
        app.router.routes.append(WebSocketRoute(path, endpoint))
    return endpoint
