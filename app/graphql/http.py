"""GraphQL over HTTP for one engine (the GraphQL-over-HTTP conventions): GraphiQL
on GET from a browser, queries on GET and POST, mutations only on POST, JSON list
bodies as batches, `Accept: text/event-stream` as GraphQL over SSE. Any other
method is a 405 and a POST body that is not JSON, `application/graphql` or a
GraphQL multipart request (file uploads, app/graphql/multipart.py) a 415.

With `Accept: application/graphql-response+json` a request that never executed
gets a 4xx status and no `data`; with plain `application/json` (legacy clients)
it is a 200 with the errors, as those clients expect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from app.graphql import multipart, sse, wire
from app.graphql.engine import Engine, Request, RequestRejected
from app.graphql.ide import ide_html, wants_ide
from app.observability.tracing import traced_http
from app.security.limits import OverBudget
from resolvers.context import Context

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
GRAPHQL = "application/graphql"
_POST_MEDIA_TYPES = frozenset({JSON, GRAPHQL_RESPONSE, GRAPHQL})
ContextFactory = Callable[[Headers], Awaitable[Context]]
_GET_OPERATIONS = frozenset({OperationType.QUERY, OperationType.SUBSCRIPTION})


class BadRequest(Exception):
    """The HTTP request itself is unusable: status and message for the client."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        code: str | None = None,
        *,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any
    headers: tuple[tuple[bytes, bytes], ...] = ()


@traced_http  # one span per request: the root of the command's trace
async def serve(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    engine: Engine,
    make_context: ContextFactory,
    max_body_bytes: int,
    max_batch: int,
    introspect: bool = True,
    upload_max_bytes: int = 1 << 30,
) -> None:
    forms: list[multipart.Form] = []
    try:
        await _serve(scope, receive, send, engine=engine, make_context=make_context,
                     limits=(max_body_bytes, max_batch, upload_max_bytes),
                     introspect=introspect, forms=forms)  # fmt: skip
    finally:  # uploaded files live as long as the request
        for form in forms:
            form.discard()


async def _serve(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    engine: Engine,
    make_context: ContextFactory,
    limits: tuple[int, int, int],
    introspect: bool,
    forms: list[multipart.Form],
) -> None:
    max_body_bytes, max_batch, upload_max_bytes = limits
    headers = Headers(scope=scope)
    modern = GRAPHQL_RESPONSE in headers.get("accept", "")
    try:
        if scope["method"] not in ("GET", "POST"):
            raise BadRequest(
                f"{scope['method']} is not supported: use GET or POST.",
                405,
                "METHOD_NOT_ALLOWED",
                headers=((b"allow", b"GET, POST"),),
            )
        if wants_ide(scope):
            await _send_html(send, ide_html(scope["path"]))
            return
        requests, batched = await _requests(
            scope, receive, (max_body_bytes, max_batch, upload_max_bytes), forms
        )
        allowed = _GET_OPERATIONS if scope["method"] == "GET" else None
        if "text/event-stream" in headers.get("accept", ""):
            await sse.serve(scope, receive, send, engine=engine, request=requests[0],
                            context=await make_context(headers), allowed=allowed,
                            introspect=introspect)  # fmt: skip
            return
        replies = [
            await _run(engine, r, make_context, headers, allowed=allowed,
                       modern=modern, introspect=introspect)
            for r in requests
        ]  # fmt: skip
    except OverBudget as error:
        # HTTP 429 with Retry-After: well-behaved clients wait and retry.
        reply = error_reply(str(error), 429, "RATE_LIMITED")
        retry = ((b"retry-after", str(error.retry_after).encode()),)
        await send_reply(send, Reply(429, reply.body, retry), modern)
        return
    except BadRequest as error:
        reply = error_reply(str(error), error.status, error.code)
        await send_reply(send, Reply(reply.status, reply.body, error.headers), modern)
        return
    if batched:
        await send_reply(send, Reply(200, [r.body for r in replies]), modern)
    else:
        await send_reply(send, replies[0], modern)


async def _requests(
    scope: Scope,
    receive: Receive,
    limits: tuple[int, int, int],
    forms: list[multipart.Form],
) -> tuple[list[Request], bool]:
    if scope["method"] == "GET":
        return [_from_query_string(scope.get("query_string", b""))], False
    max_body_bytes, max_batch, upload_max_bytes = limits
    content_type = Headers(scope=scope).get("content-type")
    boundary = _multipart_boundary(content_type)
    if boundary is not None:
        payload = await _multipart_payload(
            scope, receive, boundary, (max_body_bytes, upload_max_bytes), forms
        )
        return _payload_requests(payload, max_batch)
    media = _media_type(content_type)
    body = await read_bounded(scope, receive, max_body_bytes)
    if body is None:
        log.warning("graphql request rejected: body over the size limit")
        raise BadRequest("Request body too large.", 413, "BODY_TOO_LARGE")
    if media == GRAPHQL:
        return [Request(query=body.decode("utf-8", "replace"))], False
    return _payload_requests(_json(body), max_batch)


def _multipart_boundary(content_type: str | None) -> str | None:
    try:
        return multipart.boundary_of(content_type or "")
    except multipart.MultipartError as error:
        raise BadRequest(str(error), error.status, error.code) from None


async def _multipart_payload(
    scope: Scope,
    receive: Receive,
    boundary: str,
    limits: tuple[int, int],
    forms: list[multipart.Form],
) -> Any:
    """The `operations` of a GraphQL multipart request, files substituted."""
    max_field_bytes, max_bytes = limits
    try:
        form = await multipart.read_form(scope, receive, boundary=boundary,
                                         max_bytes=max_bytes,
                                         max_field_bytes=max_field_bytes)  # fmt: skip
        forms.append(form)
        if "operations" not in form.fields:
            raise multipart.MultipartError(
                "A multipart request needs an `operations` part."
            )
        operations = _json(form.fields["operations"], "The `operations` part")
        mapping = _json(form.fields.get("map", b"{}"), "The `map` part")
        return multipart.substitute(operations, mapping, form.files)
    except multipart.MultipartError as error:
        if error.status == 413:
            log.warning("graphql upload rejected: %s", error)
        raise BadRequest(str(error), error.status, error.code) from None


def _payload_requests(payload: Any, max_batch: int) -> tuple[list[Request], bool]:
    if isinstance(payload, list):
        if max_batch <= 0:
            raise BadRequest("Batching is not enabled.")
        if len(payload) > max_batch:
            raise BadRequest(f"Too many operations in one batch (limit {max_batch}).")
        if not payload:
            raise BadRequest("An empty batch has no operation to run.")
        return [_request(p) for p in payload], True
    return [_request(payload)], False


def _media_type(content_type: str | None) -> str:
    """The body's media type if it is one a GraphQL request may use, else 415.

    Only JSON and `application/graphql`, in UTF-8: the media types a browser
    may send cross-origin without a CORS preflight (text/plain, forms,
    multipart) are refused, so a page on another site cannot run a mutation
    (CSRF). A missing Content-Type is refused too (GraphQL over HTTP).
    Multipart requests (uploads) are read before this, see multipart.py: they
    are safe because every request must carry a bearer token.
    """
    media, _, parameters = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media in _POST_MEDIA_TYPES and charset in (None, "utf-8", "utf8"):
        return media
    shown = (content_type or "none")[:100]
    raise BadRequest(
        f"Unsupported Content-Type {shown!r}: send application/json "
        "(or application/graphql) in UTF-8.",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )


def _json(data: str | bytes, what: str = "The request body") -> Any:
    try:
        return wire.load_json(data, what)
    except wire.BadPayload as error:
        raise BadRequest(str(error), 400, error.code) from error


def _request(payload: Any) -> Request:
    try:
        return wire.request_of(payload)
    except wire.BadPayload as error:
        raise BadRequest(str(error), 400, error.code) from error


def _from_query_string(raw: bytes) -> Request:
    params = {k: v[0] for k, v in parse_qs(raw.decode("latin-1")).items()}
    variables = params.get("variables")
    return _request(
        {
            "query": params.get("query"),
            "variables": _json(variables, "`variables`") if variables else None,
            "operationName": params.get("operationName"),
        }
    )


async def _run(
    engine: Engine,
    request: Request,
    make_context: ContextFactory,
    headers: Headers,
    *,
    allowed: frozenset[OperationType] | None,
    modern: bool,
    introspect: bool,
) -> Reply:
    try:
        prepared = engine.prepare(request, allowed=allowed, introspect=introspect)
        wire.refuse_nul(prepared)
    except RequestRejected as rejected:
        return _rejected(rejected, modern)
    if prepared.operation is OperationType.SUBSCRIPTION:
        message = "Subscriptions run over WebSocket (graphql-transport-ws) or SSE."
        return _rejected(RequestRejected([GraphQLError(message)]), modern)
    result = await engine.execute(prepared, await make_context(headers))
    body = engine.formatted(result, request.operation_name)
    if modern and _never_ran(result):
        return Reply(400, {"errors": body["errors"]})
    return Reply(200, body)


def _rejected(rejected: RequestRejected, modern: bool) -> Reply:
    body = {"errors": [e.formatted for e in rejected.errors]}
    if rejected.status == 405:
        return Reply(405, body, ((b"allow", b"POST"),))
    return Reply(400 if modern else 200, body)


def _never_ran(result: ExecutionResult) -> bool:
    """Variable coercion errors: no data and no error has a path."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def error_reply(message: str, status: int, code: str | None = None) -> Reply:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return Reply(status, {"errors": [error]})


def encode(body: Any) -> bytes:
    # orjson: a large result (a thousand objects) encodes ~10x faster than json;
    # it refuses integers beyond 64 bits (JSON values may hold them): json can.
    try:
        return orjson.dumps(body, default=str)
    except TypeError:
        return json.dumps(body, separators=(",", ":"), default=str).encode()


async def send_reply(send: Send, reply: Reply, modern: bool = False) -> None:
    content = encode(reply.body)
    media = GRAPHQL_RESPONSE if modern else JSON
    headers = [
        (b"content-type", f"{media}; charset=utf-8".encode()),
        (b"content-length", str(len(content)).encode()),
        *reply.headers,
    ]
    await send(
        {"type": "http.response.start", "status": reply.status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": content})


async def _send_html(send: Send, html: str) -> None:
    content = html.encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(content)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


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
