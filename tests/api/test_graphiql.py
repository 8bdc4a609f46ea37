"""GraphiQL comes from the server itself: no CDN, assets by exact name only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from app.graphql.ide import ASSETS_DIR, CONTENT_TYPES, ide_html
from app.settings import Settings
from tests.graphql.client import open_client

ASSET_REF = re.compile(r'(?:src|href)="([^"]*)"')


async def _call(
    app: Any, raw_path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request straight into the ASGI app, the path exactly as given (an HTTP
    client would normalise the `..` away before sending)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (k.lower().encode(), v.encode()) for k, v in (headers or {}).items()
        ],
        "client": ("127.0.0.1", 1),
        "server": ("spice", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], response_headers, body


async def test_the_page_loads_nothing_from_outside_the_server(
    settings: Settings,
) -> None:
    async with open_client(settings, headers={}) as gql:  # no token: the page is open
        response = await gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert re.findall(r"https?://", page) == []
    refs = ASSET_REF.findall(page)
    assert refs
    assert all(ref.startswith(("/graphiql/assets/", "data:")) for ref in refs)
    assert 'data-endpoint="/graphql"' in page


async def test_every_asset_the_page_references_is_served_without_a_token(
    settings: Settings,
) -> None:
    expected = {".js": "text/javascript", ".css": "text/css"}
    async with open_client(settings, headers={}) as gql:
        page = (await gql.http.get("/graphql", headers={"Accept": "text/html"})).text
        refs = [r for r in ASSET_REF.findall(page) if r.startswith("/graphiql/")]
        for ref in refs:
            response = await gql.http.get(ref)
            assert response.status_code == 200, ref
            media = response.headers["content-type"].split(";")[0]
            assert media == expected[Path(ref).suffix], ref
            assert response.content == (ASSETS_DIR / Path(ref).name).read_bytes()


@pytest.mark.parametrize(
    "raw_path",
    [
        "/graphiql/assets/../../etc/passwd",
        "/graphiql/assets/%2e%2e/%2e%2e/etc/passwd",
        "/graphiql/assets/%2e%2e%2f%2e%2e%2fapp%2fsettings.py",
        "/graphiql/assets/..",
        "/graphiql/assets/",
        "/graphiql/assets//etc/passwd",
        "/graphiql/assets/graphiql.min.js/../../../pyproject.toml",
        "/graphiql/assets/graphiql.min.js.map",
        "/graphiql/assets/package.json",
    ],
)
async def test_a_path_outside_the_allowlist_is_not_found(
    settings: Settings, raw_path: str
) -> None:
    async with open_client(settings, headers={}) as gql:
        status, _, body = await _call(gql.app, raw_path)
    assert status == 404
    assert b"root:" not in body


async def test_an_unchanged_asset_is_revalidated_with_a_304(
    settings: Settings,
) -> None:
    async with open_client(settings, headers={}) as gql:
        first = await gql.http.get("/graphiql/assets/spice-graphiql.js")
        again = await gql.http.get(
            "/graphiql/assets/spice-graphiql.js",
            headers={"If-None-Match": first.headers["etag"]},
        )
    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304
    assert again.content == b""


def test_every_listed_asset_is_committed_with_the_licenses() -> None:
    for name in CONTENT_TYPES:
        assert (ASSETS_DIR / name).is_file(), name
    bundles = {"react", "react-dom", "graphiql", "graphql-ws"}
    assert {f"{b}.LICENSE" for b in bundles} <= set(CONTENT_TYPES)


def test_the_page_script_subscribes_on_the_same_path_and_sends_the_authorization() -> (
    None
):
    script = (ASSETS_DIR / "spice-graphiql.js").read_text()
    assert "graphqlWs.createClient" in script  # graphql-transport-ws
    assert (
        "connectionParams: authorization ? { Authorization: authorization }" in script
    )
    assert "shouldPersistHeaders: true" in script
    assert "isHeadersEditorEnabled: true" in script


def test_the_endpoint_path_is_escaped_in_the_page() -> None:
    page = ide_html('/graphql/x"><script>alert(1)</script>')
    assert "<script>alert" not in page
    assert "&quot;&gt;&lt;script&gt;" in page
