"""The ASGI app behind every GraphQL route: the system schema at /graphql, each
database's generated schema at /graphql/{db} and /graphql/{db}/{branch}, over
HTTP (and SSE) and WebSocket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.bootstrap import Container
from app.graphql import http, ws
from app.graphql.engine import Engine
from app.graphql.schemas import GeneratedSchemas
from app.graphql.system_schema import build_system_schema
from app.settings import Settings
from domain.errors import NotFoundError
from domain.events import MAIN_BRANCH
from domain.ports import BranchSpan
from resolvers.context import Context, Ports
from schema.limits import Limits

ACTOR_HEADER = "x-actor"


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
        changes=container.changes,
        limits=limits,
    )


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
        introspection=settings.graphql_introspection != "none",
        filter_pushdown=settings.graphql_filter_pushdown,
        search_max_ids=settings.graphql_search_max_ids,
    )


class GraphQLEndpoint:
    """Built once per application, on its first request (the container, with the
    settings, lives in `app.state`)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits
        self._ports: Ports | None = None
        self._system: Engine | None = None
        self._schemas: GeneratedSchemas | None = None

    def ports(self, container: Container) -> Ports:
        if self._ports is None:
            limits = self._limits or limits_of(container.settings)
            self._ports = ports_of(container, limits)
        return self._ports

    def schemas(self, container: Container) -> GeneratedSchemas:
        if self._schemas is None:
            settings = container.settings
            self._schemas = GeneratedSchemas(
                self.ports(container),
                dev=settings.environment == "dev",
                refresh_interval=settings.graphql_schema_refresh_interval,
            )
        return self._schemas

    def system(self, container: Container) -> Engine:
        if self._system is None:
            self._system = Engine(
                build_system_schema()._schema,
                limits=self.ports(container).limits,
                dev=container.settings.environment == "dev",
                executor_class=StrawberryGraphQLCoreExecutionContext,
            )
        return self._system

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        container: Container = scope["app"].state.container
        ports = self.ports(container)
        params: dict[str, Any] = scope.get("path_params", {})
        db = params.get("db")
        if db is None:
            await _serve(
                scope, receive, send, self.system(container), ports, "", MAIN_BRANCH, ()
            )
            return
        branch = params.get("branch") or MAIN_BRANCH
        try:
            view = await self.schemas(container).view(db, branch)
        except NotFoundError as error:
            await _not_found(scope, receive, send, error.message)
            return
        await _serve(scope, receive, send, view.engine, ports, db, branch, view.lineage)


async def _serve(
    scope: Scope,
    receive: Receive,
    send: Send,
    engine: Engine,
    ports: Ports,
    db: str,
    branch: str,
    lineage: Sequence[BranchSpan],
) -> None:
    async def make_context(source: Headers | WebSocket) -> Context:
        headers = source if isinstance(source, Headers) else source.headers
        return Context(
            ports=ports,
            actor=headers.get(ACTOR_HEADER) or "anonymous",
            language=preferred_language(headers.get("accept-language")),
            db=db,
            branch=branch,
            lineage=lineage,
        )

    if scope["type"] == "websocket":
        await ws.serve(
            WebSocket(scope, receive, send), engine=engine, make_context=make_context
        )
        return
    await http.serve(
        scope,
        receive,
        send,
        engine=engine,
        make_context=make_context,
        max_body_bytes=ports.limits.max_body_bytes,
        max_batch=ports.limits.max_batch,
    )


async def _not_found(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    if scope["type"] == "websocket":
        await WebSocket(scope, receive, send).close(code=4404, reason=message[:120])
        return
    await http.send_reply(send, http.error_reply(message, 404, "NOT_FOUND"))


def preferred_language(header: str | None) -> str | None:
    """The Accept-Language tag with the highest q (the first among equals)."""
    best: tuple[float, str] | None = None
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if best is None or quality > best[0]:
            best = (quality, tag)
    return best[1] if best else None
