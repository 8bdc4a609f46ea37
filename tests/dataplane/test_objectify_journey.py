"""The data plane journey over GraphQL with a real multipart upload: upload a
CSV, accept the suggested class, map the columns, objectify; the gates stop a
bad file before anything is written; objectifying again changes nothing, and a
new version of the file updates only the rows that changed, and with
`deleteMissing` deletes the instances whose rows it no longer has."""

from __future__ import annotations

from typing import Any

from tests.dataplane.uploads import upload
from tests.graphql.client import RESULT, GraphQL

SUGGEST = 'query($v: ID!) { suggestClass(db: "data", datasetVersion: $v) { input } }'
MAP = """mutation($i: MappingInput!) { defineMapping(db: "data", input: $i) {
  __typename ... on Mapping { id version classId dataset }
  ... on ValidationError { message errors { path code message } } } }"""
RUN = """mutation($m: ID!, $v: ID, $partial: Boolean, $del: Boolean) {
  objectify(db: "data", mapping: $m, datasetVersion: $v, allowPartial: $partial,
            deleteMissing: $del, wait: APPLIED) {
    __typename ... on ObjectifyRun { id status rows created updated unchanged deleted rejected
      errors { row column code message } mapping datasetVersion }
    ... on ValidationError { message errors { path code message } } } }"""
GOOD = b"client_id,name,score\nC1,Acme,10\nC2,Beta,20\nC3,Cora,30\n"
CHANGED = b"client_id,name,score\nC1,Acme,10\nC2,Beta,25\nC3,Cora,30\n"
SHRUNK = b"client_id,name,score\nC1,Acme,10\nC3,Cora,30\n"
BAD = b"client_id,name,score\nC1,Acme,10\nC1,Again,11\n,Nobody,12\nC4,Dee,lots\n"


async def _run(data: GraphQL, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await data.data(RUN, **variables))["objectify"]
    return result


async def test_upload_suggest_map_objectify_and_run_again(data: GraphQL) -> None:
    first = await upload(data, "clients.csv", GOOD, name="clients")
    suggestion = (await data.data(SUGGEST, v=first["id"]))["suggestClass"]["input"]
    suggestion["properties"] = [
        {**p, "type": "integer"} if p["name"] == "score" else p
        for p in suggestion["properties"]
    ]
    defined = await data.data(
        f'mutation($i: ClassInput!) {{ defineClass(db: "data", input: $i) {{ {RESULT} }} }}',
        i=suggestion,
    )
    assert defined["defineClass"]["__typename"] == "CommandReceipt"
    columns = [{"column": c, "property": c} for c in ("client_id", "name", "score")]
    mapping = {"id": "clients-map", "dataset": "clients", "classId": suggestion["id"], "properties": columns}  # fmt: skip
    mapped = (await data.data(MAP, i=mapping))["defineMapping"]
    assert (mapped["__typename"], mapped["version"]) == ("Mapping", 1)
    assert (await data.data(MAP, i=mapping))["defineMapping"][
        "version"
    ] == 1  # same spec
    run = await _run(data, m="clients-map")
    assert (run["status"], run["created"], run["rows"]) == ("SUCCEEDED", 3, 3)
    assert run["mapping"] == "clients-map:1"
    class_id = suggestion["id"]
    up = await _lineage(data, f"instance:{class_id}:C2", "UPSTREAM")
    assert {
        f"objectify-run:{run['id']}",
        f"dataset-version:{first['id']}",
        "dataset:clients",
        "mapping:clients-map:1",
    } <= up["nodes"]
    assert (f"dataset-version:{first['id']}", f"objectify-run:{run['id']}") in up[
        "edges"
    ]
    down = await _lineage(data, f"dataset-version:{first['id']}", "DOWNSTREAM")
    assert {f"instance:{class_id}:C{i}" for i in (1, 2, 3)} <= down["nodes"]
    assert "dataset:clients" not in down["nodes"]
    again = await _run(data, m="clients-map")
    assert (again["status"], again["created"], again["unchanged"]) == (
        "SUCCEEDED",
        0,
        3,
    )
    second = await upload(data, "clients.csv", CHANGED, name="clients")
    updated = await _run(data, m="clients-map", v=second["id"])
    assert (updated["updated"], updated["unchanged"]) == (1, 2)
    read = await data.data(
        f'{{ objectifyRun(db: "data", id: "{updated["id"]}") {{ status updated datasetVersion }} }}'
    )
    assert read["objectifyRun"] == {"status": "SUCCEEDED", "updated": 1, "datasetVersion": second["id"]}  # fmt: skip
    plural = suggestion["id"][0].lower() + suggestion["id"][1:] + "s"
    listed = await data.data(f"{{ {plural} {{ totalCount }} }}", "/graphql/data")
    assert listed[plural]["totalCount"] == 3
    third = await upload(data, "clients.csv", SHRUNK, name="clients")
    kept = await _run(data, m="clients-map", v=third["id"])
    assert (kept["unchanged"], kept["deleted"]) == (2, 0)
    pruned = await _run(data, m="clients-map", v=third["id"], **{"del": True})
    assert (pruned["status"], pruned["unchanged"], pruned["deleted"]) == ("SUCCEEDED", 2, 1)  # fmt: skip
    listed = await data.data(f"{{ {plural} {{ totalCount }} }}", "/graphql/data")
    assert listed[plural]["totalCount"] == 2


async def _lineage(data: GraphQL, node: str, direction: str) -> dict[str, Any]:
    query = """query($n: ID!, $d: LineageDirection) { lineage(db: "data", node: $n, direction: $d) {
      nodes { id kind label } edges { from to kind } } }"""
    graph = (await data.data(query, n=node, d=direction))["lineage"]
    return {
        "nodes": {n["id"] for n in graph["nodes"]},
        "edges": {(e["from"], e["to"]) for e in graph["edges"]},
    }


async def test_the_gates_stop_a_bad_file_with_row_level_errors(data: GraphQL) -> None:
    await data.define(
        "data",
        {
            "id": "Client",
            "label": "Client",
            "primaryKey": "client_id",
            "properties": [
                {"name": "client_id", "type": "string", "required": True},
                {"name": "name", "type": "string"},
                {"name": "score", "type": "integer"},
            ],
        },
    )
    await upload(data, "clients.csv", BAD, name="clients")
    columns = [{"column": c, "property": c} for c in ("client_id", "name", "score")]
    mapping = {
        "id": "m",
        "dataset": "clients",
        "classId": "Client",
        "properties": columns,
    }
    assert (await data.data(MAP, i=mapping))["defineMapping"]["__typename"] == "Mapping"
    failed = await _run(data, m="m")
    assert (failed["status"], failed["created"], failed["rejected"]) == ("FAILED", 0, 3)
    assert {(e["row"], e["code"]) for e in failed["errors"]} >= {
        (2, "duplicate_primary_key"),
        (3, "missing_primary_key"),
    }
    assert any(e["row"] == 4 and e["column"] == "score" for e in failed["errors"])
    nothing = await data.data("{ clients { totalCount } }", "/graphql/data")
    assert nothing["clients"]["totalCount"] == 0
    partial = await _run(data, m="m", partial=True)
    assert (partial["status"], partial["created"], partial["rejected"]) == (
        "PARTIAL",
        1,
        3,
    )


async def test_a_mapping_naming_unknown_columns_or_properties_is_refused(
    data: GraphQL,
) -> None:
    await upload(data, "clients.csv", GOOD, name="clients")
    await data.define(
        "data",
        {"id": "Client", "label": "Client", "primaryKey": "client_id",
         "properties": [{"name": "client_id", "type": "string", "required": True}]},
    )  # fmt: skip
    mapping = {
        "id": "m", "dataset": "clients", "classId": "Client",
        "properties": [{"column": "client_id", "property": "client_id"},
                       {"column": "nope", "property": "client_id"},
                       {"column": "name", "property": "missing"}],
    }  # fmt: skip
    refused = (await data.data(MAP, i=mapping))["defineMapping"]
    assert refused["__typename"] == "ValidationError"
    codes = {e["code"] for e in refused["errors"]}
    assert {"unknown_column", "unknown_property"} <= codes
    unknown = (await data.data(RUN, m="never"))["objectify"]
    assert unknown["__typename"] == "ValidationError"
