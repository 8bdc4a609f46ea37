"""branchDiff, mergePreview and mergeBranch over HTTP (SPEC §5.1), on every database."""

from __future__ import annotations

from typing import Any

from tests.graphql.client import RESULT, GraphQL
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

SHOP = "/graphql/shop"
FEATURE = "/graphql/shop/feature"
CONFLICT = "conflicts { classId id kind fields { name base source target } }"
MERGE = f"""mutation($source: String!, $target: String, $strategy: MergeStrategy,
                     $resolutions: [ConflictResolution!], $cid: ID) {{
  mergeBranch(db: "shop", source: $source, target: $target, strategy: $strategy,
              resolutions: $resolutions, commandId: $cid, wait: APPLIED) {{
    __typename
    ... on MergeReceipt {{ commandId merged seq status duplicate }}
    ... on MergeConflictError {{ message {CONFLICT} }}
    ... on ValidationError {{ message errors {{ path code message }} }}
    ... on NotFoundError {{ message kind key }}
    ... on PermissionError {{ message }}
  }} }}"""
DIFF = """query($from: String!, $to: String!, $classes: [ID!], $first: Int, $after: String) {
  branchDiff(db: "shop", from: $from, to: $to, classes: $classes, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { classId id change fields { name from to } } }
  } }"""
PREVIEW = f"""query($source: String!) {{
  mergePreview(db: "shop", source: $source) {{
    mergeable changes {CONFLICT} checks {{ name passed message }} }} }}"""


def between(start: str, end: str, **more: Any) -> dict[str, Any]:
    """Variables of DIFF: what `end` changed since its merge base with `start`."""
    return {"from": start, "to": end, **more}


async def write(gql: GraphQL, path: str, mutation: str) -> None:
    data = await gql.data(f"mutation {{ out: {mutation} {{ {RESULT} }} }}", path)
    assert data["out"]["__typename"] == "CommandReceipt", data


async def product(gql: GraphQL, pid: str, path: str = SHOP) -> dict[str, Any] | None:
    data = await gql.data(
        f'{{ product(id: "{pid}") {{ name ownedBy {{ id }} _meta {{ seq }} }} }}', path
    )
    found: dict[str, Any] | None = data["product"]
    return found


async def seq(gql: GraphQL, pid: str, path: str) -> int:
    found = await product(gql, pid, path)
    assert found is not None
    return int(found["_meta"]["seq"])


async def rename(gql: GraphQL, pid: str, name: str, path: str) -> None:
    expected = await seq(gql, pid, path)
    await write(
        gql,
        path,
        f'updateProduct(id: "{pid}", patch: {{name: "{name}"}}, expectedSeq: {expected}, wait: APPLIED)',
    )


async def forked(gql: GraphQL) -> None:
    await write(gql, SHOP, 'createCustomer(input: {customerId: "c1"}, wait: APPLIED)')
    for pid in ("p1", "p2", "p3"):
        await write(
            gql,
            SHOP,
            f'createProduct(input: {{productId: "{pid}", name: "{pid}"}}, wait: APPLIED)',
        )
    data = await gql.data(
        f'mutation {{ createBranch(db: "shop", name: "feature", wait: APPLIED) {{ {RESULT} }} }}'
    )
    assert data["createBranch"]["__typename"] == "CommandReceipt"


async def test_diff_pages_through_what_the_branch_changed(shop: GraphQL) -> None:
    await forked(shop)
    await rename(shop, "p1", "renamed", FEATURE)
    await write(
        shop,
        FEATURE,
        'createProduct(input: {productId: "p4", name: "new", ownedBy: "c1"}, wait: APPLIED)',
    )
    await write(shop, FEATURE, 'deleteProduct(id: "p3", expectedSeq: 1, wait: APPLIED)')
    first = (await shop.data(DIFF, **between("main", "feature", first=2)))["branchDiff"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"] for e in first["edges"]] == [
        {"classId": "Product", "id": "p1", "change": "UPDATED",
         "fields": [{"name": "name", "from": "p1", "to": "renamed"}]},
        {"classId": "Product", "id": "p3", "change": "DELETED",
         "fields": [{"name": "name", "from": "p3", "to": None},
                    {"name": "product_id", "from": "p3", "to": None}]},
    ]  # fmt: skip
    after = first["pageInfo"]["endCursor"]
    rest = (await shop.data(DIFF, **between("main", "feature", after=after)))[
        "branchDiff"
    ]
    assert rest["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["edges"][-1]["cursor"],
    }
    assert [e["node"] for e in rest["edges"]] == [
        {"classId": "Product", "id": "p4", "change": "CREATED",
         "fields": [{"name": "name", "from": None, "to": "new"},
                    {"name": "owned_by", "from": None, "to": ["c1"]},
                    {"name": "product_id", "from": None, "to": "p4"}]},
    ]  # fmt: skip
    customers = await shop.data(
        DIFF, **between("main", "feature", classes=["Customer"])
    )
    assert customers["branchDiff"]["totalCount"] == 0


async def test_diff_rejects_unknown_branches_classes_and_cursors(shop: GraphQL) -> None:
    await forked(shop)
    unknown = await shop.post(DIFF, **between("main", "nope"))
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert unknown["data"] is None
    classes = await shop.post(DIFF, **between("main", "feature", classes=["Nope"]))
    assert classes["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    cursor = await shop.post(DIFF, **between("main", "feature", after="garbage"))
    assert cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_preview_then_merge_with_a_conflict_resolved(shop: GraphQL) -> None:
    await forked(shop)
    await rename(shop, "p1", "source name", FEATURE)
    await rename(shop, "p1", "target name", SHOP)
    await rename(shop, "p2", "clean", FEATURE)
    preview = (await shop.data(PREVIEW, source="feature"))["mergePreview"]
    assert preview["mergeable"] is False
    assert preview["changes"] == 1  # p2; p1's conflict decided for the target
    assert preview["conflicts"] == [
        {"classId": "Product", "id": "p1", "kind": "UPDATE_UPDATE",
         "fields": [{"name": "name", "base": "p1", "source": "source name", "target": "target name"}]}
    ]  # fmt: skip
    assert {c["name"]: c["passed"] for c in preview["checks"]} == {
        "ontology": True, "conflicts": False, "valid": True, "references": True,
        "unique": True,
    }  # fmt: skip

    failed = (await shop.data(MERGE, source="feature"))["mergeBranch"]
    assert failed["__typename"] == "MergeConflictError"
    assert failed["conflicts"] == preview["conflicts"]
    assert (await product(shop, "p2") or {})["name"] == "p2"  # nothing written

    resolution = {"classId": "Product", "id": "p1", "field": "name", "take": "SOURCE"}
    merged = (await shop.data(MERGE, source="feature", resolutions=[resolution]))[
        "mergeBranch"
    ]
    assert merged["__typename"] == "MergeReceipt"
    assert (merged["merged"], merged["seq"]) == (2, 1)
    assert merged["status"] in {"APPLIED", "COMPLETED"}
    assert (await product(shop, "p1") or {})["name"] == "source name"
    assert (await product(shop, "p2") or {})["name"] == "clean"
    again = (await shop.data(PREVIEW, source="feature"))["mergePreview"]
    assert (again["mergeable"], again["changes"], again["conflicts"]) == (True, 0, [])


async def test_merge_retried_with_its_command_id_is_answered_once(
    shop: GraphQL,
) -> None:
    await forked(shop)
    await rename(shop, "p2", "clean", FEATURE)
    first = (await shop.data(MERGE, source="feature", cid="merge-1"))["mergeBranch"]
    again = (await shop.data(MERGE, source="feature", cid="merge-1"))["mergeBranch"]
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert (again["commandId"], again["merged"], again["seq"]) == ("merge-1", 1, 1)


async def test_bad_merges_are_clear_errors_and_write_nothing(shop: GraphQL) -> None:
    await forked(shop)
    await rename(shop, "p1", "source name", FEATURE)
    itself = (await shop.data(MERGE, source="feature", target="feature"))["mergeBranch"]
    assert (itself["__typename"], itself["errors"][0]["code"]) == (
        "ValidationError",
        "same_branch",
    )
    unknown = (await shop.data(MERGE, source="nope"))["mergeBranch"]
    assert (unknown["__typename"], unknown["kind"], unknown["key"]) == (
        "NotFoundError",
        "branch",
        "nope",
    )
    stray = {"classId": "Product", "id": "p2", "field": "name", "take": "SOURCE"}
    resolved = (await shop.data(MERGE, source="feature", resolutions=[stray]))[
        "mergeBranch"
    ]
    assert resolved["__typename"] == "ValidationError"
    assert resolved["errors"] == [
        {"path": ["resolutions", "0"], "code": "not_in_conflict",
         "message": "Product 'p2' is not in conflict"}
    ]  # fmt: skip
    assert (await product(shop, "p1") or {})["name"] == "p1"
    preview = await shop.post(
        PREVIEW.replace('db: "shop"', 'db: "shop", target: "feature"'), source="feature"
    )
    assert preview["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_merging_needs_the_owner_role(shop: GraphQL) -> None:
    await forked(shop)
    editor = await shop.token("ed", ("shop", "EDITOR"))
    response = await shop.http.post(
        "/graphql",
        json={"query": MERGE, "variables": {"source": "feature"}},
        headers=editor,
    )
    assert response.json()["data"]["mergeBranch"]["__typename"] == "PermissionError"
    diff = await shop.http.post(
        "/graphql",
        json={"query": DIFF, "variables": {"from": "main", "to": "feature"}},
        headers=editor,
    )
    assert diff.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
