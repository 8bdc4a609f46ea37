"""Authentication (SPEC §7.1): every data path refuses a request without a valid
token; API tokens and JWTs (HS256, RS256 from a JWKS file) are checked for
signature, expiry, issuer, audience and revocation; WebSocket connections
authenticate in connection_init."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.routing import Route
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.settings import Settings
from tests.api.served import served
from tests.conftest import ADMIN_HEADERS, CONNECTION_INIT, make_settings
from tests.graphql.client import CUSTOMER, GraphQL, open_client

HS_SECRET = "a-shared-secret-of-thirty-two-bytes!"  # noqa: S105 - a test key
ISSUER, AUDIENCE = "https://idp.example", "spice"
OPEN = {"/health", "/ready"}


@pytest.fixture
def auth_settings(database_url: str, tmp_path: Path) -> Settings:
    """Tokens re-checked on every request (no remembered principals), JWTs on."""
    return make_settings(
        database_url,
        tmp_path,
        auth_cache_seconds=0,
        jwt_secret=HS_SECRET,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_leeway_seconds=0,
    )


@pytest.fixture
async def shop(auth_settings: Settings) -> AsyncIterator[GraphQL]:
    async with open_client(auth_settings) as client:
        await client.create_database("shop")
        await client.define("shop", CUSTOMER)
        yield client


def _paths(app: Any) -> set[str]:
    """Every HTTP path the app serves: its routes (ids filled in) and GraphQL's."""
    found = set()
    for route in app.routes:
        if isinstance(route, Route):
            path = route.path.replace("{db}", "shop")
            found.add(path.replace("{branch:path}", "main"))
    return found


async def test_every_data_route_refuses_a_request_without_a_token(
    shop: GraphQL,
) -> None:
    paths = _paths(shop.app)
    assert {"/graphql", "/graphql/shop", "/graphql/shop/main", "/metrics"} <= paths
    anonymous = {"authorization": ""}
    query = {"query": "{ __typename }"}
    for path in sorted(paths - OPEN):
        for method in ("GET", "POST"):
            response = await shop.http.request(
                method, path, json=query if method == "POST" else None,
                params=query if method == "GET" else None, headers=anonymous,
            )  # fmt: skip
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "UNAUTHENTICATED", (method, path)
    for path in OPEN:
        assert (await shop.http.get(path, headers=anonymous)).status_code == 200


async def test_batches_sse_and_unknown_paths_need_a_token_too(shop: GraphQL) -> None:
    anonymous = {"authorization": ""}
    batch = [{"query": "{ databases { name } }"}] * 2
    assert (
        await shop.http.post("/graphql", json=batch, headers=anonymous)
    ).status_code == 401
    sse = {"authorization": "", "accept": "text/event-stream"}
    query = {"query": "{ __typename }"}
    assert (
        await shop.http.post("/graphql/shop", json=query, headers=sse)
    ).status_code == 401
    # A path no route serves: still 401, so a route added later is covered.
    assert (await shop.http.get("/anything/new", headers=anonymous)).status_code == 401
    assert (await shop.http.get("/anything/new")).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-token",
        "Bearer spice_0123456789abcdef_wrongsecret",
        "Bearer " + "x" * 9000,
        "Bearer a.b.c",
    ],
)
async def test_malformed_or_unknown_tokens_get_401(
    shop: GraphQL, authorization: str
) -> None:
    response = await shop.http.post(
        "/graphql", json={"query": "{ me { principal } }"},
        headers={"authorization": authorization},
    )  # fmt: skip
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_api_token_is_shown_once_stored_hashed_and_revocable(
    shop: GraphQL,
) -> None:
    created = await shop.data(
        'mutation { createToken(name: "reporter", grants: [{db: "shop", role: VIEWER}]) '
        "{ id name secret grants { db role } } }"
    )
    token = created["createToken"]
    assert token["secret"].startswith("spice_")
    headers = {"Authorization": f"Bearer {token['secret']}"}
    me = await shop.http.post("/graphql", json={"query": "{ me { principal roles { db role } } }"}, headers=headers)  # fmt: skip
    assert me.json()["data"]["me"] == {
        "principal": "reporter", "roles": [{"db": "shop", "role": "VIEWER"}]
    }  # fmt: skip
    listed = await shop.data("{ tokens { id name revokedAt } }")
    assert {"id": token["id"], "name": "reporter", "revokedAt": None} in listed[
        "tokens"
    ]
    assert "secret" not in json.dumps(listed)
    # Only the hash is stored.
    stored = await shop.container.security_store.token(token["id"])
    assert stored is not None
    assert token["secret"] not in stored.secret_hash
    revoked = await shop.data(
        f'mutation {{ revokeToken(id: "{token["id"]}") {{ revokedAt }} }}'
    )
    assert revoked["revokeToken"]["revokedAt"]
    again = await shop.http.post("/graphql", json={"query": "{ me { principal } }"}, headers=headers)  # fmt: skip
    assert again.status_code == 401
    assert "revoked" in again.json()["errors"][0]["message"]


async def test_an_expired_api_token_is_refused(shop: GraphQL) -> None:
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    created = await shop.data(
        'mutation($at: DateTime) { createToken(name: "brief", '
        'grants: [{db: "shop", role: VIEWER}], expiresAt: $at) { secret expiresAt } }',
        at=soon,
    )
    headers = {"Authorization": f"Bearer {created['createToken']['secret']}"}
    query = {"query": "{ me { principal } }"}
    assert (
        await shop.http.post("/graphql", json=query, headers=headers)
    ).status_code == 200
    await asyncio.sleep(2.2)
    expired = await shop.http.post("/graphql", json=query, headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["errors"][0]["message"]
    past = await shop.post(
        'mutation { createToken(name: "x", grants: [{db: "shop", role: VIEWER}], '
        'expiresAt: "2001-01-01T00:00:00Z") { secret } }'
    )
    assert "past" in past["errors"][0]["message"]


def _jwt(
    claims: dict[str, Any],
    key: Any = HS_SECRET,
    algorithm: str = "HS256",
    **headers: Any,
) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60, **claims}
    return jwt.encode(body, key, algorithm=algorithm, headers=headers or None)


async def _me(client: GraphQL, bearer: str) -> httpx.Response:
    return await client.http.post(
        "/graphql", json={"query": "{ me { principal kind roles { db role } } }"},
        headers={"Authorization": f"Bearer {bearer}"},
    )  # fmt: skip


async def test_jwt_hs256_claims_are_checked(shop: GraphQL) -> None:
    grants = [{"db": "shop", "role": "EDITOR"}]
    good = await _me(shop, _jwt({"sub": "carol", "spice_grants": grants}))
    assert good.json()["data"]["me"] == {
        "principal": "carol", "kind": "jwt", "roles": [{"db": "shop", "role": "EDITOR"}]
    }  # fmt: skip
    now = int(time.time())
    refused = {
        "expired": _jwt({"sub": "carol", "exp": now - 5}),
        "wrong issuer": _jwt({"sub": "carol", "iss": "https://evil.example"}),
        "wrong audience": _jwt({"sub": "carol", "aud": "other"}),
        "wrong key": _jwt({"sub": "carol"}, key="another-secret-of-thirty-two-bytes"),
        "no subject": _jwt({}),
        "not yet valid": _jwt({"sub": "carol", "nbf": now + 300}),
        "alg none": jwt.encode(
            {"sub": "carol", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60},
            None,
            algorithm="none",
        ),
    }
    for why, token in refused.items():
        response = await _me(shop, token)
        assert response.status_code == 401, why
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_jwt_rs256_from_a_jwks_file(database_url: str, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(
        json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    )
    settings = make_settings(
        database_url, tmp_path, jwt_jwks_file=str(jwks), jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )  # fmt: skip
    async with open_client(settings) as client:
        token = _jwt({"sub": "dave"}, key=key, algorithm="RS256", kid="k1")
        assert (await _me(client, token)).json()["data"]["me"]["principal"] == "dave"
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = _jwt({"sub": "dave"}, key=other, algorithm="RS256", kid="k1")
        assert (await _me(client, forged)).status_code == 401
        # HS256 signed with the public key as the secret: the classic confusion.
        assert (
            await _me(client, _jwt({"sub": "dave"}, key="x" * 32))
        ).status_code == 401


async def _ws_close(url: str, init: dict[str, Any] | None) -> int | None:
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        if init is not None:
            await ws.send(json.dumps(init))
        try:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        assert reply == {"type": "connection_ack"}
        return None


async def test_websocket_authenticates_in_connection_init(
    auth_settings: Settings,
) -> None:
    async with served(auth_settings) as server:
        async with httpx.AsyncClient(
            base_url=server.http, headers=ADMIN_HEADERS
        ) as http:
            await GraphQL(http, server.container).create_database("shop")
        for path in ("/graphql", "/graphql/shop"):
            url = server.ws(path)
            assert await _ws_close(url, {"type": "connection_init"}) == 4401
            bad = {
                "type": "connection_init",
                "payload": {"Authorization": "Bearer nope"},
            }
            assert await _ws_close(url, bad) == 4403
            assert await _ws_close(url, CONNECTION_INIT) is None


async def test_refused_credentials_are_audited_without_flooding_the_chain(
    shop: GraphQL,
) -> None:
    for _ in range(30):
        await shop.http.post(
            "/graphql/shop", json={"query": "{ __typename }"},
            headers={"authorization": "Bearer forged-token-value"},
        )  # fmt: skip
    trail = await shop.data('{ auditTrail(db: "shop", first: 200) { kind action principal detail } }')  # fmt: skip
    refused = [e for e in trail["auditTrail"] if e["action"] == "authenticate"]
    assert 1 <= len(refused) <= 10  # a few a minute per client, not thirty
    assert refused[0]["principal"] == "anonymous"
    assert refused[0]["detail"]["path"] == "/graphql/shop"
    assert "forged" not in str(refused[0]["detail"])  # the secret is never stored


async def test_jwt_es256_from_a_jwks_url(database_url: str, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    keys = json.dumps({"keys": [{**public, "kid": "e1", "use": "sig", "alg": "ES256"}]})
    with _serving(keys.encode()) as url:
        settings = make_settings(
            database_url, tmp_path, jwt_jwks_url=url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
        )  # fmt: skip
        async with open_client(settings) as client:
            token = _jwt({"sub": "erin"}, key=key, algorithm="ES256", kid="e1")
            assert (await _me(client, token)).json()["data"]["me"][
                "principal"
            ] == "erin"
            unknown_kid = _jwt({"sub": "erin"}, key=key, algorithm="ES256", kid="e2")
            assert (await _me(client, unknown_kid)).status_code == 401


@contextmanager
def _serving(body: bytes) -> Iterator[str]:
    """A JWKS document over HTTP on a free loopback port (an identity provider's)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:  # quiet
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_refused_request_with_a_hostile_path_still_gets_its_401(
    shop: GraphQL,
) -> None:
    for path in ("/graphql/a%00b", "/graphql/../../etc", "/graphql/" + "x" * 300):
        response = await shop.http.post(
            path,
            json={"query": "{ __typename }"},
            headers={"authorization": "Bearer nope"},
        )
        assert response.status_code in (401, 404), (path, response.text)
    report = await shop.data('{ verifyAuditChain(db: "shop") { ok } }')
    assert report["verifyAuditChain"]["ok"] is True
