"""Access policies end to end: set with `setAccessPolicy` by an owner, applied
to the reads and writes of the roles they name, over HTTP with real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.settings import Settings
from tests.graphql.client import RESULT, GraphQL, open_client

SHOP = "/graphql/shop"
STAFF = {
    "id": "Staff",
    "label": "Staff",
    "primaryKey": "staff_id",
    "properties": [
        {"name": "staff_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "region", "type": "string"},
        {"name": "salary", "type": "integer"},
    ],
}
PEOPLE = [
    {"staffId": "s1", "name": "Ann", "region": "north", "salary": 100},
    {"staffId": "s2", "name": "Bob", "region": "south", "salary": 200},
    {"staffId": "s3", "name": "Cid", "region": "north", "salary": 300},
]
POLICY = """mutation($role: Role!, $f: JSON, $m: [String!]) {
  setAccessPolicy(db: "shop", classId: "Staff", role: $role, rowFilter: $f, maskFields: $m)
  { classId role rowFilter maskFields } }"""


@pytest.fixture
async def shop(settings: Settings) -> AsyncIterator[GraphQL]:
    async with open_client(settings) as client:
        await client.create_database("shop")
        await client.define("shop", STAFF)
        await client.data(
            f"mutation($i: [StaffInput!]!) {{ createStaffs(inputs: $i, wait: INDEXED) {{ {RESULT} }} }}",
            SHOP,
            i=PEOPLE,
        )
        for role in ("VIEWER", "EDITOR"):
            await client.data(
                POLICY, role=role, f={"region": {"eq": "north"}}, m=["salary"]
            )
        yield client


async def _post(client: GraphQL, headers: dict[str, str], query: str, **variables: Any) -> dict[str, Any]:  # fmt: skip
    response = await client.http.post(
        SHOP, json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


async def test_a_viewer_reads_only_its_rows_and_never_a_masked_value(
    shop: GraphQL,
) -> None:
    viewer = await shop.token("val", ("shop", "VIEWER"))
    listed = await _post(
        shop, viewer, "{ staffs { totalCount edges { node { id name } } } }"
    )
    assert listed["data"]["staffs"]["totalCount"] == 2
    assert [e["node"]["id"] for e in listed["data"]["staffs"]["edges"]] == ["s1", "s3"]
    hidden = await _post(shop, viewer, '{ staff(id: "s2") { id name } }')
    assert hidden == {"data": {"staff": None}}
    masked = await _post(shop, viewer, '{ staff(id: "s1") { name salary } }')
    assert masked["data"]["staff"] == {"name": "Ann", "salary": None}
    assert masked["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for probe in (
        "{ staffs(where: {salary: {gt: 150}}) { totalCount } }",
        "{ staffs(orderBy: [{salary: DESC}]) { totalCount } }",
    ):
        body = await _post(shop, viewer, probe)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", probe
        assert "salary" in body["errors"][0]["message"]
    counted = await _post(shop, viewer, "{ staffsAggregate { count } }")
    assert counted["data"]["staffsAggregate"]["count"] == 2
    # The owner sees everything.
    everyone = await shop.data("{ staffs { totalCount } }", SHOP)
    assert everyone["staffs"]["totalCount"] == 3


async def test_an_editor_cannot_write_outside_its_rows_or_into_masked_fields(
    shop: GraphQL,
) -> None:
    editor = await shop.token("ed", ("shop", "EDITOR"))
    update = f"mutation($id: ID!, $p: StaffPatch!) {{ updateStaff(id: $id, patch: $p, expectedSeq: 1) {{ {RESULT} }} }}"  # fmt: skip
    hidden = await _post(shop, editor, update, id="s2", p={"name": "Bo"})
    assert hidden["data"]["updateStaff"]["__typename"] == "NotFoundError"
    unknown = await _post(shop, editor, update, id="s9", p={"name": "Zed"})
    assert unknown["data"]["updateStaff"]["__typename"] == "NotFoundError"
    moved = await _post(shop, editor, update, id="s1", p={"region": "south"})
    assert moved["data"]["updateStaff"]["__typename"] == "PermissionError"
    raised = await _post(shop, editor, update, id="s1", p={"salary": 999})
    assert raised["data"]["updateStaff"]["__typename"] == "PermissionError"
    assert "salary" in raised["data"]["updateStaff"]["message"]
    create = f"mutation($i: StaffInput!) {{ createStaff(input: $i) {{ {RESULT} }} }}"
    outside = await _post(shop, editor, create, i={"staffId": "s4", "region": "south"})
    assert outside["data"]["createStaff"]["__typename"] == "PermissionError"
    inside = await _post(shop, editor, create, i={"staffId": "s5", "region": "north"})
    assert inside["data"]["createStaff"]["__typename"] == "CommandReceipt"
    renamed = await _post(shop, editor, update, id="s1", p={"name": "Anne"})
    assert renamed["data"]["updateStaff"]["__typename"] == "CommandReceipt"
    delete = f'mutation {{ deleteStaff(id: "s2", expectedSeq: 1) {{ {RESULT} }} }}'
    assert (await _post(shop, editor, delete))["data"]["deleteStaff"]["__typename"] == "NotFoundError"  # fmt: skip
    untouched = await shop.data('{ staff(id: "s2") { name salary } }', SHOP)
    assert untouched["staff"] == {"name": "Bob", "salary": 200}


@pytest.mark.parametrize(
    ("row_filter", "masks", "problem"),
    [
        ("north", None, "JSON object"),
        ({"nope": {"eq": 1}}, None, "nope"),
        ({"region": {"like": "n%"}}, None, "like"),
        ({"salary": {"gt": "lots"}}, None, "salary"),
        (None, ["wages"], "wages"),
    ],
)
async def test_a_bad_policy_is_refused_stored_nowhere_and_audited(
    shop: GraphQL, row_filter: Any, masks: Any, problem: str
) -> None:
    body = await shop.post(POLICY, role="DATA_ENGINEER", f=row_filter, m=masks)
    assert body["data"] is None or body["data"]["setAccessPolicy"] is None
    assert problem in body["errors"][0]["message"]
    stored = await shop.data('{ accessPolicies(db: "shop") { role } }')
    assert {p["role"] for p in stored["accessPolicies"]} == {"VIEWER", "EDITOR"}
    trail = await shop.data('{ auditTrail(db: "shop", first: 200) { kind action } }')
    assert {"kind": "denied", "action": "setAccessPolicy"} in trail["auditTrail"]


async def test_only_an_owner_sets_policies_and_removing_one_lifts_it(
    shop: GraphQL,
) -> None:
    editor = await shop.token("eli", ("shop", "EDITOR"))
    response = await shop.http.post(
        "/graphql",
        json={"query": POLICY, "variables": {"role": "VIEWER", "f": None, "m": None}},
        headers=editor,
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    removed = await shop.data(POLICY, role="VIEWER", f=None, m=None)
    assert removed["setAccessPolicy"] is None
    viewer = await shop.token("vic", ("shop", "VIEWER"))
    listed = await _post(shop, viewer, "{ staffs { totalCount } }")
    assert listed["data"]["staffs"]["totalCount"] == 3
