"""R14 at the GraphQL level: the search index goes down under the real app, driven
over HTTP on /graphql/{db} (PostgreSQL, Kafka and an OpenSearch of the test's own,
stopped with `scripts/services.sh stop opensearch` and brought back with `start`).

While it is down, mutations still reach APPLIED and stop there (not INDEXED); the
objects they wrote read back from the graph with `_meta { dataStatus }` PARTIAL,
since their search documents are missing or stale; `search(query:)` answers with a
structured UNAVAILABLE error, not a stack trace and not a hang. When OpenSearch is
back, every command completes and every object reads FULL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service
from tests.graphql.client import CUSTOMER, RESULT, GraphQL, open_client
from tests.production.conftest import (
    SEARCH,
    Indexes,
    Topics,
    production_settings,
    unique,
)
from tests.production.support import private_services, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.kafka,
    pytest.mark.opensearch,
    pytest.mark.timeout(180),
]

SHOP = "/graphql/shop"
# A guard against a hang, not a speed requirement: the index is configured with a
# 2 s timeout and no retries, so an answer comes long before this.
ANSWER_WITHIN = 60
CREATE = """mutation($id: String!, $name: String!, $wait: CommandStage) {
  createCustomer(input: {customerId: $id, name: $name}, wait: $wait) { %s } }"""
UPDATE = """mutation($id: ID!, $name: String!, $seq: Int!, $wait: CommandStage) {
  updateCustomer(id: $id, patch: {name: $name}, expectedSeq: $seq, wait: $wait) { %s } }"""
READ = """query($ids: [String!]!) { customers(where: {customerId: {in: $ids}}, first: 50) {
  nodes { id name _meta { seq dataStatus } } } }"""
# The same objects without `_meta`: answered from the graph store alone.
READ_GRAPH = """query($ids: [String!]!) { customers(where: {customerId: {in: $ids}}, first: 50) {
  nodes { id name } } }"""
SEARCH_QUERY = """query($q: String!) { search(query: $q, first: 50) {
  nodes { ... on Customer { id name _meta { dataStatus } } } } }"""
STATUS = "query($id: ID!) { command(id: $id) { status } }"


async def receipt(gql: GraphQL, query: str, **variables: Any) -> str:
    data = await gql.data(query % RESULT, SHOP, **variables)
    (result,) = data.values()
    assert result["__typename"] == "CommandReceipt", result
    command_id: str = result["commandId"]
    return command_id


async def statuses(gql: GraphQL, command_ids: list[str]) -> dict[str, str]:
    found = {}
    for command_id in command_ids:
        data = await gql.data(STATUS, id=command_id)
        found[command_id] = data["command"]["status"]
    return found


async def all_in(gql: GraphQL, command_ids: list[str], wanted: str) -> None:
    async def reached() -> bool:
        return set((await statuses(gql, command_ids)).values()) == {wanted}

    await wait_until(reached, within=60, what=f"every command {wanted}", interval=0.2)


async def read(
    gql: GraphQL, ids: list[str], query: str = READ
) -> dict[str, dict[str, Any]]:
    data = await gql.data(query, SHOP, ids=ids)
    return {node["id"]: node for node in data["customers"]["nodes"]}


async def search(gql: GraphQL, text: str) -> dict[str, Any]:
    return await asyncio.wait_for(
        gql.post(SEARCH_QUERY, SHOP, q=text), timeout=ANSWER_WITHIN
    )


def meta_of(body: dict[str, Any]) -> dict[str, tuple[str, str, int]]:
    nodes = body["data"]["customers"]["nodes"]
    return {
        n["id"]: (n["name"], n["_meta"]["dataStatus"], n["_meta"]["seq"]) for n in nodes
    }


WRITTEN = {
    "d0": "written during",
    "d1": "written during",
    "d2": "written during",
    "b0": "changed during",
}


async def test_r14_graphql_reads_stay_honest_while_opensearch_is_down(
    pg_url: str, topics: Topics, tmp_path: Path
) -> None:
    require_service(*SEARCH)
    async with private_services() as services:
        search_url = (await services.up("opensearch"))["SPICE_TEST_SEARCH_URL"]
        index = Indexes(search_url, unique())
        settings = production_settings(
            pg_url,
            tmp_path,
            bus_url=topics.bus_url(),
            # Fail fast while it is down: one try, a short timeout.
            search_url=index.search_url(timeout=2, max_retries=0),
        )
        async with open_client(settings) as gql:
            await gql.create_database("shop")
            await gql.define("shop", CUSTOMER)
            before = [
                await receipt(gql, CREATE, id=f"b{i}", name=f"before {i}")
                for i in range(3)
            ]
            await all_in(gql, before, "COMPLETED")

            await services.stop("opensearch")
            during = [
                await receipt(
                    gql, CREATE, id=f"d{i}", name="written during", wait="APPLIED"
                )
                for i in range(3)
            ]
            during.append(
                await receipt(
                    gql, UPDATE, id="b0", name="changed during", seq=1, wait="APPLIED"
                )
            )
            # Applied to the graph, and honestly no further.
            assert set((await statuses(gql, during)).values()) == {"APPLIED"}
            graph_only = await read(gql, list(WRITTEN), READ_GRAPH)
            assert {i: n["name"] for i, n in graph_only.items()} == WRITTEN
            with_meta = await asyncio.wait_for(
                gql.post(READ, SHOP, ids=list(WRITTEN)), timeout=ANSWER_WITHIN
            )

            answer = await search(gql, "during")
            assert answer.get("data") in (None, {"search": None}), answer
            [error] = answer["errors"]
            assert error["extensions"]["code"] == "UNAVAILABLE", error
            assert error["path"] == ["search"], error
            assert "Traceback" not in error["message"], error
            assert set((await statuses(gql, during)).values()) == {"APPLIED"}

            await services.start("opensearch")
            await all_in(gql, before + during, "COMPLETED")
            nodes = await read(gql, [*WRITTEN, "b1", "b2"])
            assert {n["_meta"]["dataStatus"] for n in nodes.values()} == {"FULL"}
            assert len(nodes) == 6
            found = await search(gql, "during")
            assert found.get("errors") is None, found
            hits = {n["id"]: n["name"] for n in found["data"]["search"]["nodes"]}
            assert hits == WRITTEN

    assert with_meta.get("errors") is None, with_meta
    assert meta_of(with_meta) == {
        "d0": ("written during", "PARTIAL", 1),
        "d1": ("written during", "PARTIAL", 1),
        "d2": ("written during", "PARTIAL", 1),
        "b0": ("changed during", "PARTIAL", 2),
    }
