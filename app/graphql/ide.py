"""GraphiQL served from the server itself: the page and its assets, no CDN.

The UMD bundles (React 18, GraphiQL 3, graphql-ws 5) are committed with their
licenses in app/graphiql/assets, pinned by app/graphiql/package-lock.json and
refreshed with `make graphiql-assets`: the server needs neither Node nor the
internet, and a browser behind a firewall still gets its IDE. The page's own
script (spice-graphiql.js) subscribes over graphql-transport-ws on the same
path and sends the headers editor's Authorization in connection_init.

Assets are served only by exact name from a fixed list, so no request path can
reach another file (`..`, `%2e%2e`, absolute paths are simply unknown names).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

ASSETS_DIR = Path(__file__).resolve().parents[1] / "graphiql" / "assets"
ASSETS_PATH = "/graphiql/assets/"
_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
CONTENT_TYPES: dict[str, str] = {
    "react.production.min.js": _JS,
    "react-dom.production.min.js": _JS,
    "graphiql.min.js": _JS,
    "graphiql.min.css": _CSS,
    "graphql-ws.min.js": _JS,
    "spice-graphiql.js": _JS,
    "react.LICENSE": _TEXT,
    "react-dom.LICENSE": _TEXT,
    "graphiql.LICENSE": _TEXT,
    "graphql-ws.LICENSE": _TEXT,
}
# Only this server's files; `ws:`/`wss:` because Safari did not always count a
# same-origin socket as 'self'. No eval in any bundle (checked), so none allowed.
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self' ws: wss:; "
    "base-uri 'none'; form-action 'none'"
)
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphql-ws.min.js",
    "spice-graphiql.js",
)


def wants_ide(scope: Scope) -> bool:
    """A browser navigating to a GraphQL path: the page, not a query. The one
    test both the transport (serve the page) and the gate (no token for it) use."""
    return (
        scope["method"] == "GET"
        and b"query=" not in scope.get("query_string", b"")
        and "text/html" in Headers(scope=scope).get("accept", "")
    )


def ide_html(endpoint_path: str) -> str:
    """The GraphiQL page for the GraphQL endpoint at `endpoint_path` (the path the
    browser asked for; escaped, as it is the client's)."""
    scripts = "\n".join(
        f'    <script src="{ASSETS_PATH}{name}"></script>' for name in _SCRIPTS
    )
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta http-equiv="Content-Security-Policy" content="{_POLICY}">
    <title>SPICE GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{ASSETS_PATH}graphiql.min.css">
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
  </head>
  <body>
    <div id="graphiql" data-endpoint="{html.escape(endpoint_path, quote=True)}">Loading…</div>
{scripts}
  </body>
</html>
"""


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    content_type: str
    etag: str


_loaded: dict[str, _Asset] = {}


def _asset(name: str) -> _Asset | None:
    content_type = CONTENT_TYPES.get(name)
    if content_type is None:
        return None
    if name not in _loaded:
        body = (ASSETS_DIR / name).read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        _loaded[name] = _Asset(body, content_type, etag)
    return _loaded[name]


async def ide_assets(scope: Scope, _receive: Receive, send: Send) -> None:
    """ASGI handler for GET/HEAD `/graphiql/assets/<name>` (open: static files).

    Revalidated on every use (`no-cache` + ETag: a 304 costs no body), since the
    names carry no version."""
    if scope["type"] != "http":  # a WebSocket to an asset path
        await send({"type": "websocket.close", "code": 1008})
        return
    path: str = scope["path"]
    name = path.rpartition(ASSETS_PATH)[2] if ASSETS_PATH in path else ""
    asset = None if "/" in name else _asset(name)
    if asset is None:
        await _respond(send, 404, b"Not Found", _TEXT)
        return
    if scope.get("method") not in ("GET", "HEAD"):
        await _respond(
            send, 405, b"Method Not Allowed", _TEXT, ((b"allow", b"GET, HEAD"),)
        )
        return
    headers = ((b"etag", asset.etag.encode()), (b"cache-control", b"no-cache"))
    if Headers(scope=scope).get("if-none-match") == asset.etag:
        await _respond(send, 304, b"", asset.content_type, headers, head=True)
        return
    head = scope.get("method") == "HEAD"
    await _respond(send, 200, asset.body, asset.content_type, headers, head=head)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: tuple[tuple[bytes, bytes], ...] = (),
    *,
    head: bool = False,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
