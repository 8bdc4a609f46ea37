"""Breaking class changes through `updateClass(migrationPlan:)`: the data moves
with the ontology in one command, or nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql.client import RESULT, GraphQL

MEMBER: dict[str, Any] = {
    "id": "Member",
    "label": "Member",
    "primaryKey": "member_id",
    "properties": [
        {"name": "member_id", "type": "string", "required": True},
        {"name": "nick", "type": "string"},
        {"name": "age", "type": "string"},
    ],
}
MIGRATED = [
    {"name": "member_id", "type": "string", "required": True},
    {"name": "handle", "type": "string"},
    {"name": "age", "type": "integer"},
]
PLAN = {
    "steps": [
        {"op": "rename", "from": "nick", "to": "handle"},
        {"op": "convert", "property": "age"},
    ]
}
UPDATE = f"""mutation($p: ClassPatch!, $plan: JSON) {{
  updateClass(db: "club", id: "Member", patch: $p, expectedSeq: 1,
              migrationPlan: $plan, wait: APPLIED) {{ {RESULT} }} }}"""


@pytest.fixture
async def club(gql: GraphQL) -> GraphQL:
    await gql.create_database("club")
    await gql.define("club", MEMBER)
    return gql


async def member(club: GraphQL, member_id: str, age: str) -> None:
    data = await club.data(
        f"""mutation($id: String!, $age: String) {{ createMember(
              input: {{memberId: $id, nick: "n-{member_id}", age: $age}},
              wait: APPLIED) {{ {RESULT} }} }}""",
        "/graphql/club",
        id=member_id,
        age=age,
    )
    assert data["createMember"]["__typename"] == "CommandReceipt", data


async def members(club: GraphQL, fields: str) -> list[dict[str, Any]]:
    query = f"{{ members(orderBy: [{{memberId: ASC}}]) {{ edges {{ node {{ {fields} }} }} }} }}"
    data = await club.data(query, "/graphql/club")
    return [edge["node"] for edge in data["members"]["edges"]]


async def test_a_rename_and_a_conversion_move_the_data_with_the_class(
    club: GraphQL,
) -> None:
    await member(club, "m1", "36")
    await member(club, "m2", "7")

    data = await club.data(UPDATE, p={"properties": MIGRATED}, plan=PLAN)

    assert data["updateClass"]["__typename"] == "CommandReceipt", data
    assert await members(club, "memberId handle age") == [
        {"memberId": "m1", "handle": "n-m1", "age": 36},
        {"memberId": "m2", "handle": "n-m2", "age": 7},
    ]


async def test_a_value_that_does_not_convert_writes_nothing(club: GraphQL) -> None:
    await member(club, "m1", "36")
    await member(club, "m2", "old")

    data = await club.data(UPDATE, p={"properties": MIGRATED}, plan=PLAN)

    result = data["updateClass"]
    assert result["__typename"] == "ValidationError"
    assert [(e["path"], e["code"]) for e in result["errors"]] == [
        (["instances", "Member", "m2"], "conversion_failed")
    ]
    assert await members(club, "memberId nick age") == [
        {"memberId": "m1", "nick": "n-m1", "age": "36"},
        {"memberId": "m2", "nick": "n-m2", "age": "old"},
    ]


async def test_a_breaking_change_without_a_plan_is_refused(club: GraphQL) -> None:
    await member(club, "m1", "36")
    data = await club.data(UPDATE, p={"properties": MIGRATED}, plan=None)
    codes = {e["code"] for e in data["updateClass"]["errors"]}
    assert codes == {"property_removed_with_data", "property_type_changed"}
