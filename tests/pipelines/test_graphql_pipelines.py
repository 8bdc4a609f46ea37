"""definePipeline, previewPipeline, buildPipeline and pipelineRun over GraphQL, with
real uploads: a built output is a dataset version with the computed types; a failed
expectation publishes nothing."""

from __future__ import annotations

from typing import Any

from tests.dataplane.uploads import upload
from tests.graphql.client import GraphQL

DEFINE = """mutation($i: PipelineInput!) { definePipeline(db: "data", input: $i) {
  __typename ... on Pipeline { id version }
  ... on ValidationError { message errors { path code message } } } }"""
BUILD = """mutation($p: ID!) { buildPipeline(db: "data", pipeline: $p, wait: true) {
  __typename ... on PipelineRun { id status outputs { dataset version rowCount }
    errors { node rule message count examples } startedAt finishedAt } } }"""
PREVIEW = """query($p: ID!, $n: ID) { previewPipeline(db: "data", pipeline: $p, node: $n) {
  columns { name type } rows rowCount errors { node message } } }"""
ORDERS = b"order_id,client_id,qty,unit_price\n1,C1,2,10.5\n2,C2,1,4\n3,C1,5,1\n"
CLIENTS = b"client_id,name\nC1,Acme\nC2,Beta\n"


def _spec(expectations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": "sales", "nodes": [
        {"id": "amount", "op": "compute", "inputs": ["dataset:orders"], "args": {"column": "amount", "expr": "qty * unit_price"}},
        {"id": "j", "op": "join", "inputs": ["amount", "dataset:clients"], "args": {"how": "inner", "on": [["client_id", "client_id"]]}},
        {"id": "g", "op": "groupBy", "inputs": ["j"], "args": {"keys": ["name"], "aggregates": [{"fn": "sum", "column": "amount", "as": "total"}, {"fn": "count", "as": "n"}]}},
        {"id": "s", "op": "sort", "inputs": ["g"], "args": {"by": [{"column": "name"}]}},
    ], "outputs": [{"node": "s", "dataset": "sales_by_client", "contract": [{"column": "total", "type": "decimal", "required": True}],
                    "expectations": expectations or []}]}  # fmt: skip


async def test_define_preview_build_and_lineage(data: GraphQL) -> None:
    orders = await upload(data, "orders.csv", ORDERS, name="orders")
    await upload(data, "clients.csv", CLIENTS, name="clients")
    defined = (await data.data(DEFINE, i=_spec()))["definePipeline"]
    assert defined == {"__typename": "Pipeline", "id": "sales", "version": 1}
    preview = (await data.data(PREVIEW, p="sales", n="s"))["previewPipeline"]
    assert preview["rows"] == [
        {"name": "Acme", "total": 26.0, "n": 2},
        {"name": "Beta", "total": 4.0, "n": 1},
    ]
    assert {"name": "total", "type": "decimal"} in preview["columns"]
    run = (await data.data(BUILD, p="sales"))["buildPipeline"]
    assert (run["status"], run["outputs"][0]["rowCount"]) == ("SUCCEEDED", 2)
    built = await data.data(
        'query { dataset(db: "data", name: "sales_by_client") { versions { id columns { name type } } } }'
    )
    version = built["dataset"]["versions"][0]
    assert version["id"] == run["outputs"][0]["version"]
    assert {"name": "total", "type": "decimal"} in version["columns"]
    lineage = await data.data(
        'query($n: ID!) { lineage(db: "data", node: $n, direction: DOWNSTREAM) { edges { from to } } }',
        n=f"dataset-version:{orders['id']}",
    )
    edges = {(e["from"], e["to"]) for e in lineage["lineage"]["edges"]}
    assert (f"pipeline-run:{run['id']}", f"dataset-version:{version['id']}") in edges


async def test_a_failed_expectation_publishes_nothing(data: GraphQL) -> None:
    await upload(data, "orders.csv", ORDERS, name="orders")
    await upload(data, "clients.csv", CLIENTS, name="clients")
    rule = [{"rule": "range", "columns": ["total"], "value": {"min": 0, "max": 10}}]
    await data.data(DEFINE, i=_spec(rule))
    run = (await data.data(BUILD, p="sales"))["buildPipeline"]
    assert run["status"] == "FAILED"
    assert [(e["rule"], e["count"]) for e in run["errors"]] == [("range", 1)]
    assert run["errors"][0]["examples"][0]["name"] == "Acme"
    found = await data.data(
        'query { dataset(db: "data", name: "sales_by_client") { name } }'
    )
    assert found["dataset"] is None


async def test_define_reports_the_node_and_column(data: GraphQL) -> None:
    await upload(data, "orders.csv", ORDERS, name="orders")
    await upload(data, "clients.csv", CLIENTS, name="clients")
    spec = _spec()
    spec["nodes"][0]["args"]["expr"] = "client_id + 1"
    result = (await data.data(DEFINE, i=spec))["definePipeline"]
    assert result["__typename"] == "ValidationError"
    assert "node 'amount', column 'client_id'" in result["errors"][0]["message"]
