"""`suggestClass` over GraphQL: the suggestion for an uploaded dataset is a
ClassInput that `defineClass` accepts as it is, and a column holding another
dataset's keys comes back as a relationship candidate."""

from __future__ import annotations

from tests.dataplane.uploads import upload
from tests.graphql.client import RESULT, GraphQL

SUGGEST = """query($v: ID!) { suggestClass(db: "data", datasetVersion: $v) {
  input relationships { column target confidence } warnings } }"""
CLIENTS = b"client_id,name,email\nC1,Acme,a@acme.example\nC2,Beta,b@beta.example\nC3,Cora,c@cora.example\n"
ORDERS = (
    "order_id,client_id,amount,status,ordered_on\n"
    + "".join(
        f"O{i},C{i % 3 + 1},{i * 10}.50,{'PAID' if i % 2 else 'OPEN'},2024-01-{i % 28 + 1:02d}\n"
        for i in range(1, 41)
    )
).encode()


async def test_the_suggestion_is_a_class_defineclass_accepts(data: GraphQL) -> None:
    await upload(data, "clients.csv", CLIENTS, name="clients")
    orders = await upload(data, "orders.csv", ORDERS, name="orders")
    suggestion = (await data.data(SUGGEST, v=orders["id"]))["suggestClass"]
    definition = suggestion["input"]
    assert definition["primaryKey"] == "order_id"
    types = {p["name"]: p["type"] for p in definition["properties"]}
    assert types["amount"] == "decimal"
    assert types["ordered_on"] == "date"
    assert types["status"] == "enum"
    assert {r["column"]: r["target"] for r in suggestion["relationships"]} == {
        "client_id": "Client"
    }
    defined = await data.data(
        f'mutation($i: ClassInput!) {{ defineClass(db: "data", input: $i) {{ {RESULT} }} }}',
        i=definition,
    )
    assert defined["defineClass"]["__typename"] == "CommandReceipt", defined


async def test_an_unknown_version_is_not_found(data: GraphQL) -> None:
    body = await data.post(SUGGEST, v="nope")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
