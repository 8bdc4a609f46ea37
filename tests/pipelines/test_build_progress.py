"""A build without `wait` answers at once (RUNNING) and is followed over the
`progress(runId)` subscription (graphql-transport-ws) to its final stage."""

from __future__ import annotations

import httpx

from app.settings import Settings
from tests.api.served import served
from tests.conftest import ADMIN_HEADERS
from tests.dataplane.test_objectify_progress import _follow
from tests.dataplane.uploads import upload
from tests.graphql.client import GraphQL
from tests.pipelines.test_graphql_pipelines import CLIENTS, DEFINE, _spec

ROWS = 20_000
START = """mutation { buildPipeline(db: "data", pipeline: "sales") {
  ... on PipelineRun { id status } } }"""


async def test_a_build_is_followed_to_its_end(settings: Settings) -> None:
    orders = "order_id,client_id,qty,unit_price\n" + "".join(
        f"{i},C{i % 2 + 1},{i % 7},1.5\n" for i in range(ROWS)
    )
    async with (
        served(settings) as server,
        httpx.AsyncClient(base_url=server.http, headers=ADMIN_HEADERS, timeout=60) as http,
    ):  # fmt: skip
        gql = GraphQL(http, server.container)
        await gql.create_database("data")
        await upload(gql, "orders.csv", orders.encode(), name="orders")
        await upload(gql, "clients.csv", CLIENTS, name="clients")
        assert (await gql.data(DEFINE, i=_spec()))["definePipeline"]["id"] == "sales"
        started = (await gql.data(START))["buildPipeline"]
        assert started["status"] == "RUNNING"
        stages = await _follow(server.ws("/graphql"), started["id"])
        assert stages[-1]["stage"] == "SUCCEEDED"
        assert stages[-1]["done"] == stages[-1]["total"] == 1  # one output
        assert all(s["runId"] == started["id"] for s in stages)
        final = await gql.data(
            f'{{ pipelineRun(db: "data", id: "{started["id"]}") {{ status }} }}'
        )
        assert final["pipelineRun"] == {"status": "SUCCEEDED"}
