"""rebaseBranch, revertCommand, protectBranch and proposals over HTTP (SPEC §5.1),
with principals from real tokens, change reasons from the header, and audit."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.graphql.client import RESULT, GraphQL, eventually
from tests.graphql.test_branch_merge import (
    FEATURE,
    SHOP,
    forked,
    product,
    rename,
    write,
)

MERGE_RESULT = """__typename
    ... on MergeReceipt { commandId merged seq status }
    ... on MergeConflictError { message conflicts { classId id } }
    ... on ValidationError { message errors { path code message } }
    ... on NotFoundError { message kind key }
    ... on PermissionError { message }"""
PROPOSAL = """id title source target status author approvals createdAt mergedAt
    reviews { principal decision comment at } checks { name passed message }"""
PROPOSAL_RESULT = f"""__typename ... on Proposal {{ {PROPOSAL} }}
    ... on ValidationError {{ message errors {{ path code message }} }}
    ... on NotFoundError {{ message kind key }}
    ... on PermissionError {{ message }}"""
OPEN = f"""mutation {{ openProposal(db: "shop", source: "feature", title: "Rename p1",
    description: "as asked") {{ {PROPOSAL_RESULT} }} }}"""
REVIEW = f"""mutation($id: ID!, $decision: ReviewDecision!) {{
    reviewProposal(db: "shop", id: $id, decision: $decision, comment: "ok") {{
      {PROPOSAL_RESULT} }} }}"""
MERGE_PROPOSAL = f"""mutation($id: ID!) {{
    mergeProposal(db: "shop", id: $id, wait: APPLIED) {{ {MERGE_RESULT} }} }}"""
PROTECT = f"""mutation($branch: String!, $rules: BranchProtectionInput!) {{
    protectBranch(db: "shop", branch: $branch, rules: $rules) {{ {RESULT} }} }}"""
CREATE_P9 = 'createProduct(input: {productId: "p9", name: "p9"}, wait: APPLIED)'


async def post_as(
    gql: GraphQL, headers: dict[str, str], query: str, path: str = "/graphql",
    **variables: Any,
) -> dict[str, Any]:  # fmt: skip
    response = await gql.http.post(
        path, json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body.get("errors") is None, body
    data: dict[str, Any] = body["data"]
    return data


async def protect(gql: GraphQL, branch: str = "main", **rules: Any) -> None:
    data = await gql.data(PROTECT, branch=branch, rules=rules)
    assert data["protectBranch"]["__typename"] == "CommandReceipt", data


async def test_a_protected_branch_refuses_direct_writes_and_merges(
    shop: GraphQL,
) -> None:
    await forked(shop)
    await protect(shop, requireProposal=True)
    data = await shop.data(f"mutation {{ out: {CREATE_P9} {{ {RESULT} }} }}", SHOP)
    assert data["out"]["__typename"] == "PermissionError"
    merged = await shop.data(
        f'mutation {{ mergeBranch(db: "shop", source: "feature") {{ {MERGE_RESULT} }} }}'
    )
    assert merged["mergeBranch"]["__typename"] == "PermissionError"
    assert await product(shop, "p9") is None


async def test_a_change_reason_comes_from_the_header_into_events_and_audit(
    shop: GraphQL,
) -> None:
    await protect(shop, requireReason=True)
    query = f"mutation {{ out: {CREATE_P9} {{ {RESULT} }} }}"
    refused = await shop.data(query, SHOP)
    assert refused["out"]["errors"][0]["code"] == "reason_required"
    reason = "inventaire annuel · 재고"
    headers = {"X-Change-Reason": quote(reason)}
    written = await post_as(shop, headers, query, SHOP)
    assert written["out"]["__typename"] == "CommandReceipt", written
    position = written["out"]["position"]
    [event] = await shop.container.event_store.read_positions(
        "shop", after_position=position - 1, limit=1
    )
    assert event.metadata["reason"] == reason

    async def entries() -> list[dict[str, Any]]:
        trail = await shop.data(
            'query { auditTrail(db: "shop", first: 100) { action detail ref } }'
        )
        found: list[dict[str, Any]] = trail["auditTrail"]
        return found

    trail = await eventually(
        entries, lambda e: any(x["ref"] == event.command_id for x in e)
    )
    [entry] = [x for x in trail if x["ref"] == event.command_id]
    assert entry["detail"]["reason"] == reason


async def test_a_proposal_is_reviewed_by_another_principal_then_merged(
    shop: GraphQL,
) -> None:
    await forked(shop)
    await rename(shop, "p1", "renamed", FEATURE)
    await protect(shop, requireProposal=True, requiredApprovals=1)
    alice = await shop.token("alice", ("shop", "EDITOR"))
    bob = await shop.token("bob", ("shop", "EDITOR"))
    opened = (await post_as(shop, alice, OPEN))["openProposal"]
    assert (opened["__typename"], opened["status"], opened["author"]) == (
        "Proposal", "OPEN", "alice",
    )  # fmt: skip
    checks = {c["name"]: c["passed"] for c in opened["checks"]}
    assert (checks["conflicts"], checks["lint"], checks["approvals"]) == (
        True,
        True,
        False,
    )
    pid = opened["id"]
    own = await post_as(shop, alice, REVIEW, id=pid, decision="APPROVE")
    assert own["reviewProposal"]["errors"][0]["code"] == "own_approval"
    early = (await post_as(shop, bob, MERGE_PROPOSAL, id=pid))["mergeProposal"]
    assert early["errors"][0]["code"] == "approvals_required"
    reviewed = (await post_as(shop, bob, REVIEW, id=pid, decision="APPROVE"))[
        "reviewProposal"
    ]
    assert (reviewed["status"], reviewed["approvals"]) == ("APPROVED", 1)
    assert [(r["principal"], r["decision"]) for r in reviewed["reviews"]] == [
        ("bob", "APPROVE")
    ]
    merged = (await post_as(shop, bob, MERGE_PROPOSAL, id=pid))["mergeProposal"]
    assert (merged["__typename"], merged["merged"]) == ("MergeReceipt", 1), merged
    assert (await product(shop, "p1") or {})["name"] == "renamed"
    listed = await shop.data(
        f'query {{ proposals(db: "shop", status: MERGED) {{ {PROPOSAL} }} }}'
    )
    [shown] = listed["proposals"]
    assert (shown["id"], shown["status"]) == (pid, "MERGED")
    assert shown["mergedAt"] is not None
    assert all(c["passed"] for c in shown["checks"])
    none = await shop.data('query { proposals(db: "shop", status: OPEN) { id } }')
    assert none["proposals"] == []
    one = await shop.data(f'query {{ proposal(db: "shop", id: "{pid}") {{ title }} }}')
    assert one["proposal"] == {"title": "Rename p1"}

    async def actions() -> list[str]:
        trail = await shop.data(
            'query { auditTrail(db: "shop", first: 200) { action } }'
        )
        return [e["action"] for e in trail["auditTrail"]]

    wanted = {
        "branch.protected.v1",
        "proposal.opened.v1",
        "proposal.reviewed.v1",
        "branch.merged.v1,instance.updated.v1,proposal.merged.v1",
    }
    found = await eventually(actions, lambda a: wanted <= set(a))
    assert wanted <= set(found)


async def test_viewers_cannot_propose_and_unknown_proposals_are_null(
    shop: GraphQL,
) -> None:
    await forked(shop)
    viewer = await shop.token("vera", ("shop", "VIEWER"))
    refused = (await post_as(shop, viewer, OPEN))["openProposal"]
    assert refused["__typename"] == "PermissionError"
    found = await shop.data('query { proposal(db: "shop", id: "nope") { id } }')
    assert found["proposal"] is None


async def test_revert_over_http_then_a_conflicting_revert(shop: GraphQL) -> None:
    await forked(shop)
    await rename(shop, "p1", "first", SHOP)
    seq = await shop.data('{ product(id: "p1") { _meta { seq } } }', SHOP)
    cmd = await shop.container.event_store.read_positions(
        "shop", after_position=0, limit=1000
    )
    renamed = [e for e in cmd if e.data.get("values", {}).get("name") == "first"]
    command_id = renamed[-1].command_id
    query = f"""mutation($cid: ID!) {{ revertCommand(db: "shop", commandId: $cid,
        wait: APPLIED) {{ {RESULT} }} }}"""
    await rename(shop, "p1", "second", SHOP)
    blocked = (await shop.data(query, cid=command_id))["revertCommand"]
    assert blocked["__typename"] == "ConflictError", blocked
    assert (blocked["aggregateId"], blocked["expectedSeq"]) == (
        "Product/p1",
        seq["product"]["_meta"]["seq"],
    )
    created = next(e for e in cmd if e.aggregate_id == "Product/p3").command_id
    reverted = (await shop.data(query, cid=created))["revertCommand"]
    assert reverted["__typename"] == "CommandReceipt", reverted
    assert await product(shop, "p3") is None
    unknown = (await shop.data(query, cid="nope"))["revertCommand"]
    assert unknown["__typename"] == "NotFoundError"


async def test_rebase_over_http_shows_the_parents_changes_on_the_branch(
    shop: GraphQL,
) -> None:
    await forked(shop)
    await rename(shop, "p1", "on feature", FEATURE)
    await rename(shop, "p2", "on main", SHOP)
    query = f"""mutation {{ rebaseBranch(db: "shop", branch: "feature",
        wait: APPLIED) {{ {MERGE_RESULT} }} }}"""
    rebased = (await shop.data(query))["rebaseBranch"]
    assert (rebased["__typename"], rebased["merged"]) == ("MergeReceipt", 1)
    assert (await product(shop, "p2", FEATURE) or {})["name"] == "on main"
    assert (await product(shop, "p1", FEATURE) or {})["name"] == "on feature"
    await write(shop, FEATURE, 'deleteProduct(id: "p3", expectedSeq: 1, wait: APPLIED)')
    wrong = await shop.data(
        f"""mutation {{ rebaseBranch(db: "shop", branch: "main") {{
            {MERGE_RESULT} }} }}"""
    )
    assert wrong["rebaseBranch"]["errors"][0]["code"] == "not_parent"


async def test_protection_moves_the_seq_delete_branch_expects(shop: GraphQL) -> None:
    created = await shop.data(
        f'mutation {{ createBranch(db: "shop", name: "release", wait: APPLIED) {{ {RESULT} }} }}'
    )
    assert created["createBranch"]["__typename"] == "CommandReceipt"
    await protect(shop, "release", requireReason=True)
    delete = f"""mutation($seq: Int!) {{ deleteBranch(db: "shop", name: "release",
        expectedSeq: $seq) {{ {RESULT} }} }}"""
    refused = (await shop.data(delete, seq=2))["deleteBranch"]
    assert refused["__typename"] == "PermissionError"
    await protect(shop, "release")  # all rules off: unprotected

    async def seq() -> int:
        data = await shop.data('query { branches(db: "shop") { name seq } }')
        # The catalog is a read model: the branch shows up a moment later.
        found = [b["seq"] for b in data["branches"] if b["name"] == "release"]
        return found[0] if found else 0

    assert await eventually(seq, lambda s: s == 3) == 3
    deleted = (await shop.data(delete, seq=await seq()))["deleteBranch"]
    assert deleted["__typename"] == "CommandReceipt", deleted
