"""The ASGI app behind every GraphQL route: the system schema at /graphql, each
database's generated schema at /graphql/{db} and /graphql/{db}/{branch}, over
HTTP (and SSE) and WebSocket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from adapters.pipelines.cron import CroniterRules
from adapters.pipelines.duckdb_engine import DuckDbPipelineEngine
from app.bootstrap import Container
from app.change_reason import ReasonDispatcher
from app.graphql import http, ws
from app.graphql.engine import Engine
from app.graphql.schemas import GeneratedSchemas
from app.graphql.system_schema import build_system_schema
from app.observability.tracing import TracedDispatcher
from app.progress import ProgressHub
from app.security.authenticator import Unauthenticated
from app.security.gate import PRINCIPAL_KEY
from app.security.seam import generated_rule, guard_schema, system_rule
from app.security.service import Security
from app.settings import Settings
from domain.errors import NotFoundError
from domain.events import MAIN_BRANCH
from domain.ids import DATABASE_NAME, branch_name_problem
from domain.ontology import Ontology
from domain.ports import BranchSpan
from domain.security import ANONYMOUS, NO_RULES, Principal, Role, SecurityStore
from resolvers.context import Context, Ports
from schema.limits import Limits

REQUEST_ID_KEY = "spice.request_id"


def ports_of(
    container: Container, limits: Limits, security: SecurityStore | None = None
) -> Ports:
    return Ports(
        security=security or container.security_store,
        progress=ProgressHub(),
        store=container.event_store,
        graph=container.graph,
        search=container.search,
        catalog=container.catalog,
        audit=container.audit,
        audit_trail=container.audit_trail,
        status=container.status,
        consumers=container.consumer_state,
        dispatcher=TracedDispatcher(ReasonDispatcher(container.handlers)),
        ontologies=container.handlers.model,
        waiter=container.waiter,
        changes=container.changes,
        datasets=container.datasets,
        pipelines=DuckDbPipelineEngine(container.datasets),
        cron=CroniterRules(),
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
        upload_max_bytes=settings.upload_max_bytes,
        introspection=settings.graphql_introspection != "none",
        filter_pushdown=settings.graphql_filter_pushdown,
        search_max_ids=settings.graphql_search_max_ids,
    )


class GraphQLEndpoint:
    """Built once per application, on its first request (the container, with the
    settings, lives in `app.state`; the security service is set at start-up)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits
        self._ports: Ports | None = None
        self._system: Engine | None = None
        self._schemas: GeneratedSchemas | None = None
        self.security: Security | None = None

    def guard(self) -> Security:
        if self.security is None:
            raise RuntimeError("the security service starts with the application")
        return self.security

    def ports(self, container: Container) -> Ports:
        if self._ports is None:
            limits = self._limits or limits_of(container.settings)
            self._ports = ports_of(container, limits, self.guard().store)
        return self._ports

    def schemas(self, container: Container) -> GeneratedSchemas:
        if self._schemas is None:
            settings = container.settings
            security = self.guard()
            self._schemas = GeneratedSchemas(
                self.ports(container),
                dev=settings.environment == "dev",
                refresh_interval=settings.graphql_schema_refresh_interval,
                guard=lambda built: guard_schema(
                    built, generated_rule, security.denied
                ),
                admission=security,
            )
        return self._schemas

    def system(self, container: Container) -> Engine:
        if self._system is None:
            security = self.guard()
            schema = guard_schema(
                build_system_schema()._schema, system_rule, security.denied
            )
            self._system = Engine(
                schema,
                limits=self.ports(container).limits,
                dev=container.settings.environment == "dev",
                executor_class=StrawberryGraphQLCoreExecutionContext,
                admission=security,
            )
        return self._system

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        container: Container = scope["app"].state.container
        ports = self.ports(container)
        params: dict[str, Any] = scope.get("path_params", {})
        db = params.get("db")
        if db is None:
            target = _Target(self.system(container), "", MAIN_BRANCH, (), None)
            await _serve(scope, receive, send, target, ports, self.guard())
            return
        principal: Principal | None = scope.get(PRINCIPAL_KEY)
        if principal is not None and not principal.may(Role.VIEWER, db):
            # Before looking the database up: whether it exists is not told either.
            await _refused(
                scope, receive, send, f"VIEWER role required on database {db!r}."
            )
            return
        branch = params.get("branch") or MAIN_BRANCH
        if not DATABASE_NAME.match(db) or (
            branch != MAIN_BRANCH and branch_name_problem(branch)
        ):
            # Names no database can have never reach the stores (a NUL would
            # be an error in PostgreSQL rather than a miss).
            await _not_found(scope, receive, send, "No such database or branch.")
            return
        try:
            view = await self.schemas(container).view(db, branch)
        except NotFoundError as error:
            if scope["type"] == "websocket":
                # Told only after connection_init proved a role on the database:
                # before that, an unknown database looks like a forbidden one.
                target = _Target(None, db, branch, (), None, error.message)
                await _serve(scope, receive, send, target, ports, self.guard())
                return
            await _not_found(scope, receive, send, error.message)
            return
        target = _Target(view.engine, db, branch, view.lineage, view.ontology)
        await _serve(scope, receive, send, target, ports, self.guard())


@dataclass(frozen=True, slots=True)
class _Target:
    """What a request runs against: an engine, and for a generated schema its
    database, branch, lineage and ontology (None for the system schema)."""

    engine: Engine | None  # None: the database or branch does not exist
    db: str
    branch: str
    lineage: Sequence[BranchSpan]
    ontology: Ontology | None
    missing: str = ""  # why there is no engine


async def _serve(
    scope: Scope,
    receive: Receive,
    send: Send,
    target: _Target,
    ports: Ports,
    security: Security,
) -> None:
    async def make_context(source: Headers | WebSocket) -> Context:
        headers = source if isinstance(source, Headers) else source.headers
        principal: Principal = scope.get(PRINCIPAL_KEY, ANONYMOUS)
        access = NO_RULES
        if target.ontology is not None:
            access = await security.access(principal, target.db, target.ontology)
        return Context(
            ports=ports,
            actor=principal.name,
            principal=principal,
            request_id=scope.get(REQUEST_ID_KEY, ""),
            access=access,
            language=preferred_language(headers.get("accept-language")),
            db=target.db,
            branch=target.branch,
            lineage=target.lineage,
        )

    async def authenticate(authorization: str | None) -> Principal:
        principal = await security.authenticator.principal(authorization)
        if target.db and not principal.may(Role.VIEWER, target.db):
            raise Unauthenticated(f"VIEWER role required on database {target.db!r}.")
        if target.engine is None:
            raise LookupError(target.missing)  # closes the socket with 4404
        scope[PRINCIPAL_KEY] = principal
        return principal

    def introspect(principal: Principal) -> bool:
        return security.may_introspect(principal, target.db)

    if scope["type"] == "websocket":
        await ws.serve(
            WebSocket(scope, receive, send),
            engine=target.engine,
            make_context=make_context,
            authenticate=authenticate,
            introspect=introspect,
        )
        return
    if target.engine is None:  # only a WebSocket gets this far without one
        await _not_found(scope, receive, send, target.missing)
        return
    await http.serve(
        scope,
        receive,
        send,
        engine=target.engine,
        make_context=make_context,
        max_body_bytes=ports.limits.max_body_bytes,
        max_batch=ports.limits.max_batch,
        upload_max_bytes=ports.limits.upload_max_bytes,
        introspect=introspect(scope.get(PRINCIPAL_KEY, ANONYMOUS)),
    )


async def _refused(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    if scope["type"] == "websocket":
        await WebSocket(scope, receive, send).close(code=4403, reason="Forbidden")
        return
    await http.send_reply(send, http.error_reply(message, 403, "FORBIDDEN"))


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
