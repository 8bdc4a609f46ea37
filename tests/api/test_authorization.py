"""Authorization (SPEC §7): roles per database checked at the one seam every
root field goes through; isolation between databases; no escalation through
grants or tokens; every denial audited; rate limits and subscription caps per
principal; introspection per role."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from app.graphql.system_schema import build_system_schema
from app.security.seam import SYSTEM_RULES, UnguardedField, guard_schema, system_rule
from app.settings import Settings
from tests.api.served import served
from tests.conftest import ADMIN_HEADERS, make_settings
from tests.graphql.client import CUSTOMER, PRODUCT, RESULT, GraphQL, open_client

SHOP, ZOO = "/graphql/shop", "/graphql/zoo"
CREATE = f'mutation {{ createCustomer(input: {{customerId: "c9"}}) {{ {RESULT} }} }}'


@pytest.fixture
async def two(settings: Settings) -> AsyncIterator[GraphQL]:
    """Databases shop and zoo, each with a customer."""
    async with open_client(settings) as client:
        for db in ("shop", "zoo"):
            await client.create_database(db)
            await client.define(db, CUSTOMER, PRODUCT)
            await client.data(
                f'mutation {{ createCustomer(input: {{customerId: "c1", name: "{db}-one"}}, wait: INDEXED) {{ {RESULT} }} }}',
                f"/graphql/{db}",
            )
        yield client


async def _as(client: GraphQL, headers: dict[str, str], query: str, path: str = "/graphql", **variables: Any) -> dict[str, Any]:  # fmt: skip
    response = await client.http.post(
        path, json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    body["status"] = response.status_code
    return body


def test_every_root_field_of_the_system_schema_has_a_rule() -> None:
    schema = build_system_schema()._schema
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    fields = {f"{r.name}.{n}" for r in roots if r is not None for n in r.fields}
    assert fields == set(SYSTEM_RULES), "each root field needs exactly one rule"

    async def record(*_: Any) -> None: ...  # the denial log of the test

    def missing(type_name: str, field_name: str) -> Any:
        return None if field_name == "me" else system_rule(type_name, field_name)

    with pytest.raises(UnguardedField, match=r"Query\.me"):
        guard_schema(build_system_schema()._schema, missing, record)


async def test_viewer_reads_but_cannot_write(two: GraphQL) -> None:
    viewer = await two.token("val", ("shop", "VIEWER"))
    read = await _as(two, viewer, '{ customer(id: "c1") { name } }', SHOP)
    assert read["data"] == {"customer": {"name": "shop-one"}}
    written = await _as(two, viewer, CREATE, SHOP)
    assert written["data"]["createCustomer"]["__typename"] == "PermissionError"
    assert "EDITOR" in written["data"]["createCustomer"]["message"]
    editor = await two.token("ed", ("shop", "EDITOR"))
    assert (await _as(two, editor, CREATE, SHOP))["data"]["createCustomer"]["__typename"] == "CommandReceipt"  # fmt: skip
    # Ontology changes need OWNER: an editor gets PermissionError.
    define = 'mutation($i: ClassInput!) { defineClass(db: "shop", input: $i) { __typename ... on PermissionError { message } } }'  # fmt: skip
    answer = await _as(
        two, editor, define, i={**CUSTOMER, "id": "Other", "label": "Other"}
    )
    assert answer["data"]["defineClass"]["__typename"] == "PermissionError"


async def test_a_principal_of_one_database_reaches_nothing_of_another(
    two: GraphQL,
) -> None:
    shop_owner = await two.token("sam", ("shop", "OWNER"))
    zoo = await _as(two, shop_owner, '{ customer(id: "c1") { name } }', ZOO)
    assert zoo["status"] == 403
    assert zoo["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # An unknown database looks the same as a forbidden one.
    missing = await _as(two, shop_owner, "{ __typename }", "/graphql/nowhere")
    assert (missing["status"], missing["errors"][0]["extensions"]["code"]) == (
        403,
        "FORBIDDEN",
    )
    listed = await _as(two, shop_owner, "{ databases { name } }")
    assert listed["data"]["databases"] == [{"name": "shop"}]
    for query in (
        '{ ontology(db: "zoo") { classes { id } } }',
        '{ branches(db: "zoo") { name } }',
        '{ commands(db: "zoo") { id } }',
        "{ commands { id } }",  # across databases: only an ADMIN
        '{ auditLog(db: "zoo") { actor } }',
        '{ verifyAuditChain(db: "zoo") { ok } }',
        "{ deadLetters { id } }",
    ):
        body = await _as(two, shop_owner, query)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", query
    zoo_commands = await two.data('{ commands(db: "zoo") { id } }')
    some_id = zoo_commands["commands"][0]["id"]
    by_id = await _as(two, shop_owner, f'{{ command(id: "{some_id}") {{ id }} }}')
    assert by_id["data"] == {"command": None}
    gone = await _as(two, shop_owner, 'mutation { deleteDatabase(name: "zoo", expectedSeq: 1) { __typename } }')  # fmt: skip
    assert gone["data"]["deleteDatabase"]["__typename"] == "PermissionError"
    made = await _as(two, shop_owner, 'mutation { createDatabase(name: "mine") { __typename } }')  # fmt: skip
    assert made["data"]["createDatabase"]["__typename"] == "PermissionError"


async def test_no_escalation_through_grants_or_tokens(two: GraphQL) -> None:
    editor = await two.token("eve", ("shop", "EDITOR"))
    for query in (
        'mutation { grantRole(principal: "eve", db: "shop", role: OWNER) { role } }',
        'mutation { grantRole(principal: "eve", db: "zoo", role: VIEWER) { role } }',
        'mutation { createToken(name: "eve2", grants: [{db: "shop", role: OWNER}]) { secret } }',
        'mutation { createToken(name: "eve3", grants: [{db: "*", role: ADMIN}]) { secret } }',
    ):
        body = await _as(two, editor, query)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", query
        assert body["data"] is None or not any(body["data"].values())
    assert await two.container.security_store.grants_of("eve") == frozenset()
    owner = await two.token("olga", ("shop", "OWNER"))
    granted = await _as(two, owner, 'mutation { grantRole(principal: "eve", db: "shop", role: VIEWER) { principal role } }')  # fmt: skip
    assert granted["data"]["grantRole"] == {"principal": "eve", "role": "VIEWER"}
    as_admin = await _as(two, owner, 'mutation { grantRole(principal: "eve", db: "shop", role: ADMIN) { role } }')  # fmt: skip
    assert as_admin["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # A token of one database used against another: refused.
    zoo = await _as(two, owner, 'mutation { createToken(name: "z", grants: [{db: "zoo", role: VIEWER}]) { secret } }')  # fmt: skip
    assert zoo["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_every_denial_is_in_the_audit_chain(two: GraphQL) -> None:
    viewer = await two.token("vic", ("shop", "VIEWER"))
    await _as(two, viewer, CREATE, SHOP)
    await _as(two, viewer, 'mutation { grantRole(principal: "vic", db: "shop", role: OWNER) { role } }')  # fmt: skip
    entries = await two.data('{ auditTrail(db: "shop", first: 100) { kind action principal requestId } }')  # fmt: skip
    denied = [e for e in entries["auditTrail"] if e["kind"] == "denied"]
    assert {(e["action"], e["principal"]) for e in denied} >= {
        ("Mutation.createCustomer", "vic"),
        ("Mutation.grantRole", "vic"),
    }
    assert all(e["requestId"] for e in denied)
    tokens = [e for e in entries["auditTrail"] if e["kind"] == "token"]
    assert any(e["action"] == "createToken" for e in tokens)
    report = await two.data('{ verifyAuditChain(db: "shop") { ok entries } }')
    assert report["verifyAuditChain"]["ok"] is True


async def test_cost_budget_per_principal_answers_429_with_retry_after(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, rate_limit_cost_per_minute=600)
    async with open_client(settings) as client:
        await client.create_database("shop")
        await client.define("shop", CUSTOMER)
        reader = await client.token("greedy", ("shop", "VIEWER"))
        query = "{ customers(first: 100) { edges { node { id name } } } }"
        statuses = [
            (await _as(client, reader, query, SHOP))["status"] for _ in range(10)
        ]
        assert 429 in statuses
        limited = await client.http.post(SHOP, json={"query": query}, headers=reader)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        # Another principal has a budget of its own.
        other = await client.token("modest", ("shop", "VIEWER"))
        assert (await _as(client, other, query, SHOP))["status"] == 200


@pytest.mark.parametrize(("mode", "viewer_may"), [("admins", False), ("all", True)])
async def test_introspection_per_role(
    database_url: str, tmp_path: Path, mode: str, viewer_may: bool
) -> None:
    settings = make_settings(database_url, tmp_path, graphql_introspection=mode)
    async with open_client(settings) as client:
        await client.create_database("shop")
        await client.define("shop", CUSTOMER)
        viewer = await client.token("ivy", ("shop", "VIEWER"))
        query = get_introspection_query()
        as_viewer = await _as(client, viewer, query, SHOP)
        assert ("errors" not in as_viewer) is viewer_may
        assert "errors" not in await client.post(query, SHOP)  # the admin may


async def test_subscriptions_are_capped_per_principal_and_rate_limited_on_the_socket(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path, max_subscriptions_per_principal=1,
        rate_limit_cost_per_minute=1000,
    )  # fmt: skip
    changed = "subscription { customerChanged { id } }"
    async with (
        served(settings) as server,
        httpx.AsyncClient(base_url=server.http, headers=ADMIN_HEADERS) as http,
    ):
        client = GraphQL(http, server.container)
        await client.create_database("shop")
        await client.define("shop", CUSTOMER)
        viewer = await client.token("subby", ("shop", "VIEWER"))
        init = {"type": "connection_init", "payload": viewer}
        async with connect(server.ws(SHOP), subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:  # fmt: skip
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for operation in ("1", "2"):
                payload = {"query": changed}
                await ws.send(json.dumps({"id": operation, "type": "subscribe", "payload": payload}))  # fmt: skip
            # Both start at once: whichever comes second is refused.
            refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert refused["type"] == "error"
            assert refused["id"] in ("1", "2")
            assert (
                refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            )
            # Completing the running one frees its place.
            running = "2" if refused["id"] == "1" else "1"
            await ws.send(json.dumps({"id": running, "type": "complete"}))
            await asyncio.sleep(0.2)
            await ws.send(json.dumps({"id": "3", "type": "subscribe", "payload": {"query": changed}}))  # fmt: skip
            await client.data(
                f'mutation {{ createCustomer(input: {{customerId: "s1"}}, wait: APPLIED) {{ {RESULT} }} }}',
                SHOP,
            )
            pushed = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (pushed["id"], pushed["type"]) == ("3", "next"), pushed
            await ws.send(json.dumps({"id": "3", "type": "complete"}))
            # Spending the cost budget over the socket: an error, the socket stays.
            query = {
                "query": "{ customers(first: 100) { edges { node { id name } } } }"
            }
            codes = []
            for n in range(10):
                await ws.send(json.dumps({"id": f"q{n}", "type": "subscribe", "payload": query}))  # fmt: skip
                while True:
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if reply["id"] == f"q{n}" and reply["type"] in (
                        "error",
                        "complete",
                    ):
                        break
                    if reply["type"] == "next":
                        codes.append("ok")
                if reply["type"] == "error":
                    codes.append(reply["payload"][0]["extensions"]["code"])
            assert codes[0] == "ok", codes
            assert "RATE_LIMITED" in codes, codes


async def test_audit_chain_exports_as_json_lines_to_its_owner(two: GraphQL) -> None:
    exported = await two.http.get("/audit/shop/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(lines))
    viewer = await two.token("vera", ("shop", "VIEWER"))
    assert (await two.http.get("/audit/shop/export", headers=viewer)).status_code == 403
    assert (
        await two.http.get("/audit/shop/export", headers={"authorization": ""})
    ).status_code == 401


@pytest.mark.parametrize("name", ["admin", "System", "anonymous"])
async def test_a_token_cannot_take_a_built_in_principal_name(
    two: GraphQL, name: str
) -> None:
    body = await two.post(
        'mutation($n: String!) { createToken(name: $n, grants: [{db: "shop", role: VIEWER}]) { id } }',
        n=name,
    )
    assert "reserved" in body["errors"][0]["message"]
