"""Ontology changes over HTTP: a class defined on a branch, diffed, merged, used on main."""

from __future__ import annotations

from tests.graphql.client import RESULT, GraphQL
from tests.graphql.test_branch_merge import DIFF, MERGE, PREVIEW, SHOP, between

FEATURE_BRANCH = 'branch: "feature"'
TAG = (
    '{id: "Tag", label: "Tag", primaryKey: "tag",'
    ' properties: [{name: "tag", type: "string", required: true}]}'
)


async def define_tag(gql: GraphQL) -> None:
    data = await gql.data(
        f'mutation {{ out: createBranch(db: "shop", name: "feature", wait: APPLIED) {{ {RESULT} }} }}'
    )
    assert data["out"]["__typename"] == "CommandReceipt", data
    data = await gql.data(
        f'mutation {{ out: defineClass(db: "shop", {FEATURE_BRANCH}, input: {TAG},'
        f" wait: APPLIED) {{ {RESULT} }} }}"
    )
    assert data["out"]["__typename"] == "CommandReceipt", data


async def test_a_class_defined_on_a_branch_merges_and_is_written_on_main(
    shop: GraphQL,
) -> None:
    await define_tag(shop)
    diff = (await shop.data(DIFF, **between("main", "feature")))["branchDiff"]
    assert [
        (e["node"]["classId"], e["node"]["id"], e["node"]["change"])
        for e in diff["edges"]
    ] == [("Tag", "@class", "CREATED"), ("Tag", "@property.tag", "CREATED")]
    preview = (await shop.data(PREVIEW, source="feature"))["mergePreview"]
    assert (preview["mergeable"], preview["changes"]) == (True, 1)

    merged = (await shop.data(MERGE, source="feature"))["mergeBranch"]
    assert merged["__typename"] == "MergeReceipt", merged
    assert merged["merged"] == 1  # the class

    data = await shop.data(
        f'mutation {{ out: createTag(input: {{tag: "red"}}, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    assert data["out"]["__typename"] == "CommandReceipt", data
    found = await shop.data('{ tag(id: "red") { tag } }', SHOP)
    assert found["tag"] == {"tag": "red"}


async def test_a_class_member_conflict_is_resolved_by_its_member_id(
    shop: GraphQL,
) -> None:
    await define_tag(shop)
    # Main defines Tag too, with another label: the class's own fields conflict.
    other = TAG.replace('label: "Tag"', 'label: "Label"')
    data = await shop.data(
        f'mutation {{ out: defineClass(db: "shop", input: {other}, wait: APPLIED) {{ {RESULT} }} }}'
    )
    assert data["out"]["__typename"] == "CommandReceipt", data
    failed = (await shop.data(MERGE, source="feature"))["mergeBranch"]
    assert failed["__typename"] == "MergeConflictError"
    assert failed["conflicts"] == [
        {"classId": "Tag", "id": "@class", "kind": "UPDATE_UPDATE",
         "fields": [{"name": "label", "base": None, "source": "Tag", "target": "Label"}]}
    ]  # fmt: skip
    pick = {"classId": "Tag", "id": "@class", "field": "label", "take": "SOURCE"}
    merged = (await shop.data(MERGE, source="feature", resolutions=[pick]))[
        "mergeBranch"
    ]
    assert merged["__typename"] == "MergeReceipt", merged
    found = await shop.data('{ ontology(db: "shop") { classes { id label } } }')
    labels = {c["id"]: c["label"] for c in found["ontology"]["classes"]}
    assert labels["Tag"] == "Tag"
