"""Generated mutations and reads: every result union member, dry runs, idempotency,
dangling references, time travel."""

from __future__ import annotations

from domain.errors import PermissionDenied
from resolvers.commands import error_result
from schema.results import PermissionProblem
from tests.graphql.client import RESULT, GraphQL
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

SHOP = "/graphql/shop"
CREATE_PRODUCT = f"""mutation($id: String!, $name: String, $owner: ID, $cid: ID, $dry: Boolean) {{
  createProduct(input: {{productId: $id, name: $name, ownedBy: $owner}}, commandId: $cid,
                validateOnly: $dry, wait: APPLIED) {{ {RESULT} }} }}"""


async def _customer(gql: GraphQL, customer_id: str = "c1") -> None:
    data = await gql.data(
        f'mutation {{ createCustomer(input: {{customerId: "{customer_id}", name: "Acme"}}, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    assert data["createCustomer"]["__typename"] == "CommandReceipt"


async def test_create_returns_receipt_and_object_reads_back(shop: GraphQL) -> None:
    await _customer(shop)
    data = await shop.data(CREATE_PRODUCT, SHOP, id="p1", name="Widget", owner="c1")
    receipt = data["createProduct"]
    assert receipt["__typename"] == "CommandReceipt"
    assert receipt["seq"] == 1
    # At least APPLIED; the search consumer may already have caught up too.
    assert receipt["status"] in {"APPLIED", "COMPLETED"}
    read = await shop.data('{ product(id: "p1") { productId ownedBy { id } } }', SHOP)
    assert read["product"] == {"productId": "p1", "ownedBy": {"id": "c1"}}


async def test_dangling_reference_is_a_validation_error_with_graphql_path(
    shop: GraphQL,
) -> None:
    data = await shop.data(CREATE_PRODUCT, SHOP, id="p1", owner="ghost")
    result = data["createProduct"]
    assert result["__typename"] == "ValidationError"
    assert [(e["path"], e["code"]) for e in result["errors"]] == [
        (["input", "ownedBy"], "dangling_reference")
    ]


async def test_invalid_instance_id_is_a_validation_error(shop: GraphQL) -> None:
    data = await shop.data(CREATE_PRODUCT, SHOP, id="bad id!")
    result = data["createProduct"]
    assert result["__typename"] == "ValidationError"
    assert result["errors"][0]["path"] == ["input", "productId"]
    assert result["errors"][0]["code"] == "invalid_instance_id"


async def test_creating_an_existing_instance_conflicts(shop: GraphQL) -> None:
    await shop.data(CREATE_PRODUCT, SHOP, id="p1")
    data = await shop.data(CREATE_PRODUCT, SHOP, id="p1", name="again")
    result = data["createProduct"]
    assert result["__typename"] == "ConflictError"
    assert (result["expectedSeq"], result["actualSeq"]) == (0, 1)


async def test_update_of_missing_instance_is_not_found(shop: GraphQL) -> None:
    data = await shop.data(
        f'mutation {{ updateProduct(id: "nope", patch: {{name: "x"}}, expectedSeq: 1) {{ {RESULT} }} }}',
        SHOP,
    )
    result = data["updateProduct"]
    assert result["__typename"] == "NotFoundError"
    assert (result["kind"], result["key"]) == ("Product", "nope")


def test_permission_denied_maps_to_permission_error() -> None:
    # No rule denies anything yet; the mapping is what clients will switch on.
    result = error_result(PermissionDenied("not yours"))
    assert isinstance(result, PermissionProblem)
    assert result.message == "not yours"


async def test_validate_only_writes_nothing(shop: GraphQL) -> None:
    data = await shop.data(CREATE_PRODUCT, SHOP, id="p1", dry=True)
    receipt = data["createProduct"]
    assert (receipt["validatedOnly"], receipt["status"], receipt["position"]) == (
        True,
        "PENDING",
        None,
    )
    read = await shop.data('{ product(id: "p1") { id } }', SHOP)
    assert read["product"] is None


async def test_command_id_makes_retries_idempotent(shop: GraphQL) -> None:
    first = await shop.data(CREATE_PRODUCT, SHOP, id="p1", name="A", cid="req-1")
    retry = await shop.data(CREATE_PRODUCT, SHOP, id="p1", name="A", cid="req-1")
    assert retry["createProduct"]["duplicate"] is True
    assert retry["createProduct"]["commandId"] == "req-1"
    assert retry["createProduct"]["seq"] == first["createProduct"]["seq"]
    reused = await shop.data(CREATE_PRODUCT, SHOP, id="p2", name="B", cid="req-1")
    result = reused["createProduct"]
    assert result["__typename"] == "ValidationError"
    assert [(e["path"], e["code"]) for e in result["errors"]] == [
        (["commandId"], "command_id_reused")
    ]


async def test_invalid_command_id_is_rejected(shop: GraphQL) -> None:
    data = await shop.data(CREATE_PRODUCT, SHOP, id="p1", cid="no spaces allowed")
    assert data["createProduct"]["errors"][0]["code"] == "invalid_command_id"


async def test_patch_clears_explicit_null_and_keeps_absent(shop: GraphQL) -> None:
    await _customer(shop)
    await shop.data(CREATE_PRODUCT, SHOP, id="p1", name="Widget", owner="c1")
    data = await shop.data(
        f'mutation {{ updateProduct(id: "p1", patch: {{name: null}}, expectedSeq: 1, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    assert data["updateProduct"]["seq"] == 2
    read = await shop.data(
        '{ product(id: "p1") { name ownedBy { id } _meta { seq } } }', SHOP
    )
    assert read["product"] == {
        "name": None,
        "ownedBy": {"id": "c1"},
        "_meta": {"seq": 2},
    }


async def test_delete_then_read_returns_null(shop: GraphQL) -> None:
    await shop.data(CREATE_PRODUCT, SHOP, id="p1")
    data = await shop.data(
        f'mutation {{ deleteProduct(id: "p1", expectedSeq: 1, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    assert data["deleteProduct"]["seq"] == 2
    read = await shop.data('{ product(id: "p1") { id } products { totalCount } }', SHOP)
    assert read == {"product": None, "products": {"totalCount": 0}}


async def test_bulk_create_and_upsert(shop: GraphQL) -> None:
    bulk = f"""mutation($inputs: [ProductInput!]!) {{
      createProducts(inputs: $inputs, wait: APPLIED) {{ {RESULT} }} }}"""
    data = await shop.data(bulk, SHOP, inputs=[{"productId": "a"}, {"productId": "b"}])
    assert data["createProducts"]["__typename"] == "CommandReceipt"
    bad = await shop.data(bulk, SHOP, inputs=[{"productId": "c"}, {"productId": "c"}])
    assert bad["createProducts"]["errors"][0]["path"] == ["inputs", "1"]
    upsert = f"""mutation($inputs: [ProductInput!]!) {{
      upsertProducts(inputs: $inputs, wait: APPLIED) {{ {RESULT} }} }}"""
    data = await shop.data(
        upsert, SHOP, inputs=[{"productId": "a", "name": "A2"}, {"productId": "d"}]
    )
    assert data["upsertProducts"]["__typename"] == "CommandReceipt"
    read = await shop.data("{ products { totalCount nodes { id name } } }", SHOP)
    assert read["products"]["totalCount"] == 3
    assert read["products"]["nodes"][0] == {"id": "a", "name": "A2"}


async def test_dangling_allowed_link_reads_as_missing(shop: GraphQL) -> None:
    review = {"id": "Review", "label": "Review", "primaryKey": "review_id",
              "properties": [{"name": "review_id", "type": "string"}],
              "relationships": [{"predicate": "about", "target": "Product",
                                 "cardinality": "MANY_TO_ONE", "danglingPolicy": "ALLOW"}]}  # fmt: skip
    await shop.define("shop", review)
    data = await shop.data(
        f'mutation {{ createReview(input: {{reviewId: "r1", about: "ghost"}}, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    assert data["createReview"]["__typename"] == "CommandReceipt"
    read = await shop.data(
        '{ review(id: "r1") { about { id productId name _meta { seq dataStatus } } } }',
        SHOP,
    )
    assert read["review"]["about"] == {
        "id": "ghost",
        "productId": "ghost",
        "name": None,
        "_meta": {"seq": 0, "dataStatus": "MISSING"},
    }


async def test_as_of_reads_an_earlier_version(shop: GraphQL) -> None:
    first = await shop.data(CREATE_PRODUCT, SHOP, id="p1", name="Old")
    position = first["createProduct"]["position"]
    await shop.data(
        f'mutation {{ updateProduct(id: "p1", patch: {{name: "New"}}, expectedSeq: 1, wait: APPLIED) {{ {RESULT} }} }}',
        SHOP,
    )
    query = 'query($at: Int) { product(id: "p1", asOf: $at) { name } products(asOf: $at) { nodes { name } } }'
    then = await shop.data(query, SHOP, at=position)
    now = await shop.data(query, SHOP)
    assert then == {
        "product": {"name": "Old"},
        "products": {"nodes": [{"name": "Old"}]},
    }
    assert now["product"] == {"name": "New"}
    before = await shop.data(query, SHOP, at=position - 1)
    assert before == {"product": None, "products": {"nodes": []}}


async def test_schema_info_and_meta_index_status(shop: GraphQL) -> None:
    await shop.data(
        f'mutation {{ createCustomer(input: {{customerId: "c1"}}, wait: INDEXED) {{ {RESULT} }} }}',
        SHOP,
    )
    data = await shop.data(
        '{ _schema { db branch version warnings } customer(id: "c1") { _meta { dataStatus indexStatus { eventSequence lastIndexedAt indexAgeSeconds } createdAt updatedAt } } }',
        SHOP,
    )
    assert data["_schema"]["db"] == "shop"
    assert data["_schema"]["warnings"] == []
    meta = data["customer"]["_meta"]
    assert meta["dataStatus"] == "FULL"
    assert meta["indexStatus"]["eventSequence"] == 1
    assert meta["createdAt"] is not None


DIFF = "{ status otherBranch otherSeq changes { field before after } }"


async def test_diff_against_another_branch_and_an_earlier_position(
    shop: GraphQL,
) -> None:
    first = await shop.data(CREATE_PRODUCT, SHOP, id="p1", name="Widget")
    position = first["createProduct"]["position"]
    branch = await shop.data(
        f'mutation {{ createBranch(db: "shop", name: "feature", wait: APPLIED) {{ {RESULT} }} }}'
    )
    assert branch["createBranch"]["__typename"] == "CommandReceipt"
    feature = f"{SHOP}/feature"
    await shop.data(
        f'mutation {{ updateProduct(id: "p1", patch: {{name: "Gadget"}}, expectedSeq: 1, wait: APPLIED) {{ {RESULT} }} }}',
        feature,
    )
    await shop.data(
        CREATE_PRODUCT.replace("wait: APPLIED", "wait: APPLIED"),
        feature,
        id="p2",
        name="New",
    )

    query = f'{{ a: product(id: "p1") {{ _diff(branch: "main") {DIFF} }} b: product(id: "p2") {{ _diff(branch: "main") {DIFF} }} }}'
    on_feature = await shop.data(query, feature)
    assert on_feature["a"]["_diff"] == {
        "status": "CHANGED",
        "otherBranch": "main",
        "otherSeq": 1,
        "changes": [{"field": "name", "before": "Widget", "after": "Gadget"}],
    }
    assert on_feature["b"]["_diff"]["status"] == "ADDED"
    back = await shop.data(
        f'{{ product(id: "p1") {{ _diff(branch: "feature") {DIFF} }} }}', SHOP
    )
    assert back["product"]["_diff"]["changes"] == [
        {"field": "name", "before": "Gadget", "after": "Widget"}
    ]
    earlier = await shop.data(
        f'query($at: Int) {{ product(id: "p1") {{ _diff(asOf: $at) {DIFF} }} }}',
        feature,
        at=position,
    )
    assert earlier["product"]["_diff"]["status"] == "CHANGED"
    assert earlier["product"]["_diff"]["otherBranch"] == "feature"


async def test_diff_needs_a_known_other_side(shop: GraphQL) -> None:
    await shop.data(CREATE_PRODUCT, SHOP, id="p1", name="Widget")
    unknown = await shop.post(
        f'{{ product(id: "p1") {{ _diff(branch: "nope") {DIFF} }} }}', SHOP
    )
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    same = await shop.post(f'{{ product(id: "p1") {{ _diff {DIFF} }} }}', SHOP)
    assert same["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
