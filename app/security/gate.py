"""Authentication before any route runs, in the application's own ASGI entry
(`SpiceApp.__call__`), which every HTTP request passes — GraphQL paths skip
FastAPI's middleware, so this cannot be a middleware.

Open without a token: `/health`, `/ready`, GraphiQL's page and its static
assets (they hold no data; GraphiQL then sends the token the user enters), and
`/metrics` when SPICE_METRICS_PUBLIC is set. Everything else — every route that
exists today and every one added later — needs a valid bearer token. WebSocket
connections authenticate in the protocol (`connection_init`), see ws.py.
"""

from __future__ import annotations

import orjson
from starlette.datastructures import Headers
from starlette.types import Scope, Send

from app.graphql.ide import wants_ide
from app.security.authenticator import Unauthenticated
from app.security.service import Security
from domain.security import Principal

OPEN_PATHS = frozenset({"/health", "/ready"})
OPEN_PREFIXES = ("/graphiql/assets/",)
PRINCIPAL_KEY = "spice.principal"


def is_open(scope: Scope, *, metrics_public: bool, ide_path: bool) -> bool:
    path: str = scope["path"]
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return True
    if path == "/metrics" and metrics_public:
        return True
    return ide_path and wants_ide(scope)


async def authenticate(scope: Scope, security: Security) -> Principal:
    """The request's principal; raises Unauthenticated."""
    authorization = Headers(scope=scope).get("authorization")
    principal = await security.authenticator.principal(authorization)
    scope[PRINCIPAL_KEY] = principal
    return principal


async def refuse(send: Send, error: Unauthenticated) -> None:
    """HTTP 401 with a GraphQL error body (SPEC §7.1: code UNAUTHENTICATED)."""
    body = orjson.dumps(
        {"errors": [{"message": str(error), "extensions": {"code": "UNAUTHENTICATED"}}]}
    )
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="spice"'),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})
