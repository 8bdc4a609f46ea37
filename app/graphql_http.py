"""The GraphQL HTTP/WebSocket view: per-request context and GraphQL-over-HTTP replies."""

from __future__ import annotations

import json
import logging
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema

from domain.events import MAIN_BRANCH
from resolvers.context import Context, Ports

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
ACTOR_HEADER = "x-actor"


class _SubResponse(Response):
    """The per-request response strawberry lets resolvers touch, plus whether the
    client asked for the GraphQL-over-HTTP media type."""

    wants_graphql_response: bool = False


class SpiceGraphQL(GraphQL[Context, None]):
    """One schema's endpoint: GraphiQL on GET, queries on GET/POST, subscriptions
    over graphql-transport-ws (and the legacy graphql-ws)."""

    def __init__(
        self,
        schema: BaseSchema,
        ports: Ports,
        *,
        db: str = "",
        branch: str = MAIN_BRANCH,
    ) -> None:
        super().__init__(schema)
        self._ports = ports
        self._db = db
        self._branch = branch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        body = await read_bounded(scope, receive, self._ports.limits.max_body_bytes)
        if body is None:
            log.warning("graphql request rejected: body over the size limit")
            too_large = error_response("Request body too large.", 413, "BODY_TOO_LARGE")
            await too_large(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=replay(body)))
        except HTTPException as error:
            # GraphQL-over-HTTP: even a malformed request gets a JSON error body,
            # and a mutation over GET is 405 (method), not 400.
            status = error.status_code
            if scope["method"] == "GET" and "mutation" in error.reason.lower():
                status = 405
            response = error_response(error.reason, status)
            if status == 405:
                response.headers["allow"] = "POST"
        await response(scope, receive, send)

    async def get_context(
        self,
        request: Request | WebSocket,
        response: Response | WebSocket,  # noqa: ARG002 - strawberry's hook signature
    ) -> Context:
        lineage = (
            await self._ports.store.lineage(self._db, self._branch) if self._db else ()
        )
        return Context(
            ports=self._ports,
            actor=request.headers.get(ACTOR_HEADER) or "anonymous",
            language=preferred_language(request.headers.get("accept-language")),
            db=self._db,
            branch=self._branch,
            lineage=lineage,
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub = _SubResponse()
        sub.status_code = None  # type: ignore[assignment]
        del sub.headers["content-length"]
        sub.wants_graphql_response = GRAPHQL_RESPONSE_JSON in request.headers.get(
            "accept", ""
        )
        return sub

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if getattr(sub_response, "wants_graphql_response", False):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and is_request_error(response_data):
                # The request never executed: no `data`, and a 4xx status.
                body = {"errors": response_data.get("errors", [])}
                response.body = json.dumps(body).encode()
                response.headers["content-length"] = str(len(response.body))
                response.status_code = 400
        return response


async def read_bounded(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it is known to exceed `limit` bytes (by its
    Content-Length, or while reading a chunked body), so a huge body is never
    buffered whole."""
    declared = dict(scope.get("headers") or ()).get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes) -> Receive:
    """A `receive` that hands the already read body to the view."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def is_request_error(data: GraphQLHTTPResponse) -> bool:
    """Parse, validation and variable errors: no data, and no error has a path."""
    errors: list[Any] = list(data.get("errors") or [])
    return (
        data.get("data") is None
        and bool(errors)
        and all(isinstance(e, dict) and "path" not in e for e in errors)
    )


def error_response(message: str, status: int, code: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return JSONResponse({"errors": [error]}, status_code=status)


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
