"""Hostile requests (issue 13.7): each is refused with a structured error, never
a 500, a dropped connection or a silently stored value, on every transport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from app.cors import cors_response_headers, handle_preflight, with_headers
from app.graphql.wire import MAX_JSON_NESTING
from app.main import create_app
from app.settings import Settings
from tests.api.served import Served, served
from tests.conftest import ADMIN_HEADERS, ADMIN_TOKEN
from tests.graphql.client import CUSTOMER, PRODUCT, RESULT, GraphQL

SHOP = "/graphql/shop"
CREATE_EVIL = (
    '{"query": "mutation { createDatabase(name: \\"evil\\") { __typename } }"}'
)
DATABASES = "{ databases { name } }"


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert "data" not in body, body
    assert body["errors"][0]["extensions"]["code"] == code, body
    assert body["errors"][0]["message"], body
    return body


async def _database_names(gql: GraphQL) -> set[str]:
    data = await gql.data(DATABASES)
    return {d["name"] for d in data["databases"]}


class TestCrossSiteRequests:
    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "text/plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            None,
            "application/json; charset=latin-1",
            "application/xml",
        ],
    )
    async def test_a_mutation_in_another_media_type_is_415_and_never_runs(
        self, gql: GraphQL, content_type: str | None
    ) -> None:
        headers = {**ADMIN_HEADERS, "origin": "https://evil.example"}
        if content_type is not None:
            headers["content-type"] = content_type
        response = await gql.http.post("/graphql", content=CREATE_EVIL, headers=headers)
        _error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
        assert "evil" not in await _database_names(gql)

    async def test_a_multipart_mutation_without_a_token_is_401_and_never_runs(
        self, gql: GraphQL
    ) -> None:
        # What a cross-site form can send: multipart, but no Authorization header.
        response = await gql.http.post(
            "/graphql",
            data={"operations": CREATE_EVIL, "map": "{}"},
            files={"x": ("x.txt", b"x", "text/plain")},
            headers={"authorization": "", "origin": "https://evil.example"},
        )
        _error(response, 401, "UNAUTHENTICATED")
        assert "evil" not in await _database_names(gql)

    async def test_a_multipart_request_without_operations_is_400(
        self, gql: GraphQL
    ) -> None:
        response = await gql.http.post(
            "/graphql",
            content=b'--x\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--x--\r\n',
            headers={
                **ADMIN_HEADERS,
                "content-type": "multipart/form-data; boundary=x",
            },
        )
        _error(response, 400, "BAD_MULTIPART")

    async def test_a_multipart_request_without_a_boundary_is_400(
        self, gql: GraphQL
    ) -> None:
        response = await gql.http.post(
            "/graphql",
            content=CREATE_EVIL,
            headers={**ADMIN_HEADERS, "content-type": "multipart/form-data"},
        )
        _error(response, 400, "BAD_MULTIPART")
        assert "evil" not in await _database_names(gql)

    @pytest.mark.parametrize(
        "content_type",
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON; charset=UTF-8",
            "application/graphql-response+json",
        ],
    )
    async def test_json_bodies_are_accepted(
        self, gql: GraphQL, content_type: str
    ) -> None:
        body = json.dumps({"query": DATABASES})
        headers = {**ADMIN_HEADERS, "content-type": content_type}
        response = await gql.http.post("/graphql", content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"data": {"databases": []}}

    async def test_a_graphql_document_body_is_accepted(self, gql: GraphQL) -> None:
        headers = {**ADMIN_HEADERS, "content-type": "application/graphql"}
        response = await gql.http.post("/graphql", content=DATABASES, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"data": {"databases": []}}

    @pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD"])
    async def test_other_methods_are_405_and_never_run(
        self, gql: GraphQL, method: str
    ) -> None:
        response = await gql.http.request(
            method, "/graphql", content=CREATE_EVIL,
            headers={**ADMIN_HEADERS, "content-type": "application/json"},
        )  # fmt: skip
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"
        if method != "HEAD":
            assert response.json()["errors"][0]["extensions"]["code"] == (
                "METHOD_NOT_ALLOWED"
            )
        assert "evil" not in await _database_names(gql)

    async def test_a_mutation_over_get_is_still_405(self, gql: GraphQL) -> None:
        query = 'mutation { createDatabase(name: "evil") { __typename } }'
        response = await gql.http.get("/graphql", params={"query": query})
        assert response.status_code == 405
        assert "evil" not in await _database_names(gql)


class TestDeepNesting:
    async def test_a_deeply_nested_body_is_400(self, gql: GraphQL) -> None:
        for levels in (MAX_JSON_NESTING + 1, 5000, 100_000):
            response = await gql.http.post(
                "/graphql", content=_deep(levels),
                headers={"content-type": "application/json"},
            )  # fmt: skip
            _error(response, 400, "NESTING_TOO_DEEP")

    async def test_deeply_nested_variables_are_400(self, gql: GraphQL) -> None:
        for levels in (MAX_JSON_NESTING, 5000):
            body = f'{{"query": "{{ __typename }}", "variables": {{"v": {_deep(levels)}}}}}'
            response = await gql.http.post(
                "/graphql", content=body, headers={"content-type": "application/json"}
            )
            _error(response, 400, "NESTING_TOO_DEEP")

    async def test_deeply_nested_variables_over_get_are_400(self, gql: GraphQL) -> None:
        for levels in (MAX_JSON_NESTING, 5000):
            params = {
                "query": "{ __typename }",
                "variables": f'{{"v": {_deep(levels)}}}',
            }
            response = await gql.http.get("/graphql", params=params)
            _error(response, 400, "NESTING_TOO_DEEP")

    async def test_nesting_within_the_limit_reaches_graphql(self, gql: GraphQL) -> None:
        query = "query($v: JSON) { __typename }"
        variables = json.loads(f'{{"v": {_deep(MAX_JSON_NESTING - 2)}}}')
        response = await gql.http.post(
            "/graphql", json={"query": query, "variables": variables}
        )
        errors = response.json().get("errors") or [{}]
        assert errors[0].get("extensions", {}).get("code") != "NESTING_TOO_DEEP"
        assert response.status_code in (200, 400), response.text

    async def test_a_deeply_nested_input_literal_is_a_graphql_error(
        self, shop: GraphQL
    ) -> None:
        for levels in (50, 120, 180, 300, 3000):
            where = '{name: {eq: "x"}}'
            for _ in range(levels):
                where = f"{{and: [{where}]}}"
            query = f"{{ products(where: {where}) {{ totalCount }} }}"
            response = await shop.http.post(SHOP, json={"query": query})
            assert response.status_code in (200, 400), response.text
            for error in response.json().get("errors", []):
                assert error["message"] != "Unexpected error.", (levels, error)


class TestNulCharacters:
    async def test_instance_writes_reject_nul_at_the_property(
        self, shop: GraphQL
    ) -> None:
        create = f"mutation($i: CustomerInput!) {{ createCustomer(input: $i) {{ {RESULT} }} }}"
        body = await shop.data(create, SHOP, i={"customerId": "c1", "name": "a\x00b"})
        _nul_rejected(body["createCustomer"], ["input", "name"])
        body = await shop.data(create, SHOP, i={"customerId": "c\x00", "name": "x"})
        _nul_rejected(body["createCustomer"], ["input", "customerId"])
        bulk = f"mutation($i: [CustomerInput!]!) {{ createCustomers(inputs: $i) {{ {RESULT} }} }}"
        items = [{"customerId": "c2"}, {"customerId": "c3", "name": "\x00"}]
        body = await shop.data(bulk, SHOP, i=items)
        _nul_rejected(body["createCustomers"], ["inputs", "1", "name"])
        upsert = bulk.replace("createCustomers", "upsertCustomers")
        body = await shop.data(upsert, SHOP, i=items)
        _nul_rejected(body["upsertCustomers"], ["inputs", "1", "name"])
        await shop.data(
            f'mutation {{ createCustomer(input: {{customerId: "ok"}}, wait: APPLIED) {{ {RESULT} }} }}',
            SHOP,
        )
        update = f'mutation($p: CustomerPatch!) {{ updateCustomer(id: "ok", patch: $p, expectedSeq: 1) {{ {RESULT} }} }}'
        body = await shop.data(update, SHOP, p={"name": "x\x00"})
        _nul_rejected(body["updateCustomer"], ["patch", "name"])
        read = await shop.data("{ customers { nodes { id name } } }", SHOP)
        assert read["customers"]["nodes"] == [{"id": "ok", "name": None}]

    async def test_names_and_definitions_reject_nul(self, shop: GraphQL) -> None:
        database = (
            f"mutation($n: String!) {{ createDatabase(name: $n) {{ {RESULT} }} }}"
        )
        body = await shop.data(database, n="ab\x00c")
        _nul_rejected(body["createDatabase"], ["name"])
        branch = f'mutation($n: String!) {{ createBranch(db: "shop", name: $n) {{ {RESULT} }} }}'
        body = await shop.data(branch, n="feature\x00")
        _nul_rejected(body["createBranch"], ["name"])
        define = f'mutation($i: ClassInput!) {{ defineClass(db: "shop", input: $i) {{ {RESULT} }} }}'
        body = await shop.data(define, i={**CUSTOMER, "id": "Other", "label": "O\x00"})
        _nul_rejected(body["defineClass"], ["label"])
        assert await _database_names(shop) == {"shop"}

    async def test_a_filter_with_nul_is_an_error_not_a_failure(
        self, shop: GraphQL
    ) -> None:
        query = (
            "query($n: String) { customers(where: {name: {eq: $n}}) { totalCount } }"
        )
        response = await shop.http.post(
            SHOP, json={"query": query, "variables": {"n": "a\x00"}}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        if body.get("errors"):
            assert body["errors"][0]["message"] != "Unexpected error.", body
        else:
            assert body["data"]["customers"]["totalCount"] == 0


def _nul_rejected(result: dict[str, Any], path: list[str]) -> None:
    assert result["__typename"] == "ValidationError", result
    assert [(e["path"], e["code"]) for e in result["errors"]] == [
        (path, "nul_character")
    ], result


class TestBranchNames:
    @pytest.mark.parametrize(
        "name",
        ["a/../b", "a//b", "a/", "a/./b", "a/..", "/a", ".a", "a\n", "a\tb", "a b"],
    )
    async def test_names_clients_would_rewrite_are_refused(
        self, shop: GraphQL, name: str
    ) -> None:
        branch = f'mutation($n: String!) {{ createBranch(db: "shop", name: $n) {{ {RESULT} }} }}'
        body = await shop.data(branch, n=name)
        result = body["createBranch"]
        assert result["__typename"] == "ValidationError", result
        assert result["errors"][0]["path"] == ["name"]
        assert result["errors"][0]["code"] in ("invalid_name", "nul_character")

    async def test_a_path_like_name_is_accepted(self, shop: GraphQL) -> None:
        branch = f'mutation {{ createBranch(db: "shop", name: "team/a.b-1", wait: APPLIED) {{ {RESULT} }} }}'
        body = await shop.data(branch)
        assert body["createBranch"]["__typename"] == "CommandReceipt", body


@asynccontextmanager
async def _socket(server: Served, path: str) -> AsyncIterator[ClientConnection]:
    protocol = [Subprotocol("graphql-transport-ws")]
    async with connect(server.ws(path), subprotocols=protocol) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}}  # fmt: skip
        await ws.send(json.dumps(init))
        assert (
            json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        )
        yield ws


async def _closed_with(ws: ClientConnection) -> int | None:
    await asyncio.wait_for(ws.wait_closed(), 5)
    return ws.close_code


@asynccontextmanager
async def _shop_server(settings: Settings) -> AsyncIterator[tuple[Served, GraphQL]]:
    async with (
        served(settings) as server,
        httpx.AsyncClient(base_url=server.http, headers=ADMIN_HEADERS, timeout=30) as http,
    ):  # fmt: skip
        gql = GraphQL(http, server.container)
        await gql.create_database("shop")
        await gql.define("shop", CUSTOMER, PRODUCT)
        yield server, gql


SUBSCRIBE_STATUS = "subscription($id: ID!) { commandStatus(commandId: $id) { status } }"


async def test_hostile_socket_messages_close_with_4400(settings: Settings) -> None:
    hostile: list[str | bytes] = [
        b"\x00\x01binary",
        b'{"type": "ping"}',  # JSON, but in a binary frame
        _deep(5000),
        json.dumps({"type": "subscribe", "id": "1", "payload": {
            "query": "{ __typename }", "variables": {"v": json.loads(_deep(150))}}}),
        json.dumps({"type": "subscribe", "id": "1", "payload": {"query": 42}}),
        json.dumps({"type": "subscribe", "id": "1", "payload": "nope"}),
        json.dumps({"type": "subscribe", "id": "1",
                    "payload": {"query": "{ __typename }", "variables": [1]}}),
    ]  # fmt: skip
    async with served(settings) as server:
        for message in hostile:
            async with _socket(server, "/graphql") as ws:
                await ws.send(message)
                assert await _closed_with(ws) == 4400, message
        async with _socket(server, "/graphql") as ws:  # the server is still fine
            payload = {"query": "{ __typename }"}
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": payload})
            )
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply["payload"] == {"data": {"__typename": "Query"}}


async def test_command_status_sees_only_its_own_database(settings: Settings) -> None:
    async with _shop_server(settings) as (server, gql):
        await gql.create_database("other")
        await gql.define("other", CUSTOMER)
        created = await gql.data(
            f'mutation {{ createCustomer(input: {{customerId: "c1"}}, commandId: "shop-cmd", wait: INDEXED) {{ {RESULT} }} }}',
            SHOP,
        )
        assert created["createCustomer"]["status"] == "COMPLETED", created
        variables = {"id": "shop-cmd"}
        payload = {"query": SUBSCRIBE_STATUS, "variables": variables}
        subscribe = json.dumps({"id": "1", "type": "subscribe", "payload": payload})
        async with _socket(server, "/graphql/other") as ws:
            await ws.send(subscribe)
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert first["payload"]["data"]["commandStatus"]["status"] == "PENDING"
            with pytest.raises(TimeoutError):  # nothing more: it looks unknown
                await asyncio.wait_for(ws.recv(), 1.0)
        async with _socket(server, SHOP) as ws:
            await ws.send(subscribe)
            statuses = []
            while not statuses or statuses[-1] != "COMPLETED":
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                statuses.append(message["payload"]["data"]["commandStatus"]["status"])
            assert statuses[0] == "ACCEPTED"


class TestCors:
    ALLOWED = "https://app.example"

    @staticmethod
    def _app(settings: Settings, origins: list[str]) -> Any:
        """The app behind the CORS seam, wired as app/main.py is meant to."""
        app = create_app(settings)

        async def with_cors(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan":
                await app(scope, receive, send)
            elif not await handle_preflight(scope, receive, send, origins):
                extra = cors_response_headers(scope, origins)
                await app(scope, receive, with_headers(send, extra))

        with_cors.router = app.router  # type: ignore[attr-defined]
        return with_cors, app

    @asynccontextmanager
    async def _client(
        self, settings: Settings, origins: list[str]
    ) -> AsyncIterator[httpx.AsyncClient]:
        wrapped, app = self._app(settings, origins)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(wrapped)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://spice", headers=ADMIN_HEADERS
            ) as http:
                yield http

    async def test_no_origin_is_allowed_by_default(self, settings: Settings) -> None:
        async with self._client(settings, settings.cors_origins) as http:
            preflight = await http.options("/graphql", headers={
                "origin": self.ALLOWED, "access-control-request-method": "POST"})  # fmt: skip
            assert preflight.status_code == 403
            assert "access-control-allow-origin" not in preflight.headers
            response = await http.post(
                "/graphql", json={"query": DATABASES}, headers={"origin": self.ALLOWED}
            )
            assert "access-control-allow-origin" not in response.headers

    async def test_a_configured_origin_is_allowed(self, settings: Settings) -> None:
        async with self._client(settings, [self.ALLOWED]) as http:
            preflight = await http.options("/graphql/shop", headers={
                "origin": self.ALLOWED, "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type"})  # fmt: skip
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == self.ALLOWED
            assert "POST" in preflight.headers["access-control-allow-methods"]
            allowed_headers = preflight.headers["access-control-allow-headers"]
            assert "authorization" in allowed_headers
            response = await http.post(
                "/graphql", json={"query": DATABASES}, headers={"origin": self.ALLOWED}
            )
            assert response.headers["access-control-allow-origin"] == self.ALLOWED
            assert response.headers["vary"] == "Origin"
            other = await http.post(
                "/graphql", json={"query": DATABASES},
                headers={"origin": "https://evil.example"},
            )  # fmt: skip
            assert "access-control-allow-origin" not in other.headers
            refused = await http.options("/graphql", headers={
                "origin": "https://evil.example",
                "access-control-request-method": "POST"})  # fmt: skip
            assert refused.status_code == 403

    async def test_a_plain_options_request_is_405(self, settings: Settings) -> None:
        async with self._client(settings, [self.ALLOWED]) as http:
            response = await http.options("/graphql")
            assert response.status_code == 405
            assert response.headers["allow"] == "GET, POST"
