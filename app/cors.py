"""CORS as plain ASGI, for every path (GraphQL included): no cross-origin access
unless the origin is listed in `Settings.cors_origins` (SPICE_CORS_ORIGINS).

Browsers send JSON and `application/graphql` requests cross-origin only after a
preflight (OPTIONS) that this module answers; the media types they send without
one are refused by the GraphQL endpoint (415). Together, a page of another site
can neither run an operation nor read an answer. No credentials mode: the API
authenticates with an Authorization header, never with cookies.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

ALLOWED_METHODS = ("GET", "POST")
# What browser clients of the API send; a preflight asking for more fails.
ALLOWED_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "traceparent",
    "tracestate",
    "x-change-reason",
    "x-request-id",
)
EXPOSED_HEADERS = ("retry-after", "x-request-id")
MAX_AGE_SECONDS = 600
ANY_ORIGIN = "*"

Header = tuple[bytes, bytes]


def origin_allowed(origin: str | None, allowed_origins: Sequence[str]) -> bool:
    """Exact match (scheme, host and port, as browsers send it), or `*` listed."""
    if not origin or origin == "null":  # sandboxed frames and files: never
        return False
    return ANY_ORIGIN in allowed_origins or origin.rstrip("/") in {
        o.rstrip("/") for o in allowed_origins
    }


def cors_headers(origin: str | None, allowed_origins: Sequence[str]) -> list[Header]:
    """The headers a response to a request from `origin` carries: none unless
    the origin is allowed. The origin is echoed (never `*`) with `Vary: Origin`,
    so a shared cache keeps one answer per origin."""
    if origin is None or not origin_allowed(origin, allowed_origins):
        return []
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode()),
        (b"vary", b"Origin"),
    ]


def cors_response_headers(scope: Scope, allowed_origins: Sequence[str]) -> list[Header]:
    """`cors_headers` for the request of an ASGI scope (none for WebSockets:
    browsers do not apply CORS to them; check their Origin when it matters)."""
    if scope["type"] != "http":
        return []
    return cors_headers(Headers(scope=scope).get("origin"), allowed_origins)


def with_headers(send: Send, extra: Sequence[Header]) -> Send:
    """`send` adding `extra` to the response start (a no-op when empty)."""
    if not extra:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return sending


async def handle_preflight(
    scope: Scope, receive: Receive, send: Send, allowed_origins: Sequence[str]
) -> bool:
    """Answers a CORS preflight (OPTIONS with Origin and
    Access-Control-Request-Method) and returns True; False for anything else,
    which the app then serves as usual (a plain OPTIONS gets its 405 there).

    An allowed origin asking for GET or POST gets 204 with the allowed methods
    and headers; any other preflight a 403 without CORS headers, which the
    browser takes as a refusal.
    """
    del receive  # a preflight has no body worth reading
    if scope["type"] != "http" or scope["method"] != "OPTIONS":
        return False
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    method = headers.get("access-control-request-method")
    if origin is None or method is None:
        return False
    if method.upper() not in ALLOWED_METHODS or not origin_allowed(
        origin, allowed_origins
    ):
        await _respond(send, 403, [(b"content-type", b"text/plain; charset=utf-8")],
                       b"Cross-origin request not allowed.")  # fmt: skip
        return True
    allowed = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
        (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
        (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
        (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
    ]  # fmt: skip
    await _respond(send, 204, allowed, b"")
    return True


async def _respond(send: Send, status: int, headers: list[Header], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
