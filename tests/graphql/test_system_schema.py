"""The system schema: databases, ontology, branches, commands, audit, dead letters."""

from __future__ import annotations

from typing import Any

from tests.graphql.client import RESULT, GraphQL, eventually

ONTOLOGY = """query($lang: String) { ontology(db: "shop", lang: $lang) {
  db branch version
  classes { id label labels seq primaryKey titleKey abstract deprecated
            properties { name type required }
            relationships { predicate target cardinality danglingPolicy inverse { predicate } } } } }"""


async def test_databases_lists_created_database(shop: GraphQL) -> None:
    async def names() -> list[str]:
        data = await shop.data("{ databases { name seq createdAt } }")
        return [d["name"] for d in data["databases"]]

    assert await eventually(names, lambda n: "shop" in n) == ["shop"]


async def test_ontology_reads_classes_with_localized_labels(shop: GraphQL) -> None:
    data = await shop.data(ONTOLOGY, lang="ko")
    classes = {c["id"]: c for c in data["ontology"]["classes"]}
    assert classes["Customer"]["label"] == "고객"
    assert classes["Customer"]["labels"] == {"default": "Customer", "ko": "고객"}
    assert classes["Product"]["relationships"] == [
        {
            "predicate": "owned_by",
            "target": "Customer",
            "cardinality": "MANY_TO_ONE",
            "danglingPolicy": "REJECT",
            "inverse": {"predicate": "owns"},
        }
    ]
    assert classes["Product"]["seq"] == 1


async def test_ontology_language_comes_from_accept_language(shop: GraphQL) -> None:
    response = await shop.http.post(
        "/graphql",
        json={"query": '{ ontology(db: "shop") { classes { id label } } }'},
        headers={"accept-language": "en;q=0.5, ko-KR;q=0.9"},
    )
    labels = {
        c["id"]: c["label"] for c in response.json()["data"]["ontology"]["classes"]
    }
    assert labels == {"Customer": "고객", "Product": "Product"}


async def test_define_class_validate_only_writes_nothing(shop: GraphQL) -> None:
    supplier = {"id": "Supplier", "label": "Supplier", "primaryKey": "code",
                "properties": [{"name": "code", "type": "string"}]}  # fmt: skip
    data = await shop.data(
        f'mutation($i: ClassInput!) {{ defineClass(db: "shop", input: $i, validateOnly: true) {{ {RESULT} }} }}',
        i=supplier,
    )
    receipt = data["defineClass"]
    assert receipt["__typename"] == "CommandReceipt"
    assert receipt["validatedOnly"] is True
    assert receipt["status"] == "PENDING"
    ontology = await shop.data(ONTOLOGY)
    assert "Supplier" not in {c["id"] for c in ontology["ontology"]["classes"]}


async def test_define_class_reports_each_error_with_path_and_code(
    shop: GraphQL,
) -> None:
    broken = {"id": "Order", "label": "Order", "primaryKey": "missing",
              "properties": [{"name": "n", "type": "nonsense"}],
              "relationships": [{"predicate": "to", "target": "Nowhere", "cardinality": "MANY_TO_ONE"}]}  # fmt: skip
    data = await shop.data(
        f'mutation($i: ClassInput!) {{ defineClass(db: "shop", input: $i) {{ {RESULT} }} }}',
        i=broken,
    )
    result = data["defineClass"]
    assert result["__typename"] == "ValidationError"
    found = {(tuple(e["path"]), e["code"]) for e in result["errors"]}
    assert (("properties", "0", "type"), "unknown_type") in found
    assert (("relationships", "0", "target"), "unknown_target_class") in found


async def test_update_and_deprecate_class_use_expected_seq(shop: GraphQL) -> None:
    stale = await shop.data(
        f'mutation {{ updateClass(db: "shop", id: "Customer", patch: {{description: "People"}}, expectedSeq: 5) {{ {RESULT} }} }}'
    )
    assert stale["updateClass"]["__typename"] == "ConflictError"
    assert stale["updateClass"]["actualSeq"] == 1
    updated = await shop.data(
        f'mutation {{ updateClass(db: "shop", id: "Customer", patch: {{description: "People"}}, expectedSeq: 1) {{ {RESULT} }} }}'
    )
    assert updated["updateClass"]["seq"] == 2
    deprecated = await shop.data(
        f'mutation {{ deprecateClass(db: "shop", id: "Product", expectedSeq: 1) {{ {RESULT} }} }}'
    )
    assert deprecated["deprecateClass"]["seq"] == 2
    data = await shop.data(ONTOLOGY)
    classes = {c["id"]: c for c in data["ontology"]["classes"]}
    assert classes["Product"]["deprecated"] is True


async def test_lint_reports_issues(shop: GraphQL) -> None:
    data = await shop.data('{ lint(db: "shop") { severity code classId path } }')
    codes = {(i["classId"], i["code"]) for i in data["lint"]}
    assert ("Customer", "missing_description") in codes


async def test_unknown_database_is_a_not_found_error(shop: GraphQL) -> None:
    body = await shop.post('{ ontology(db: "nope") { version } }')
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND"}


async def test_create_database_twice_is_a_validation_error(shop: GraphQL) -> None:
    data = await shop.data(
        f'mutation {{ createDatabase(name: "shop") {{ {RESULT} }} }}'
    )
    result = data["createDatabase"]
    assert result["__typename"] == "ValidationError"
    assert result["errors"] == [
        {
            "path": ["name"],
            "code": "already_exists",
            "message": result["errors"][0]["message"],
        }
    ]


async def test_delete_database_with_stale_seq_conflicts(shop: GraphQL) -> None:
    data = await shop.data(
        f'mutation {{ deleteDatabase(name: "shop", expectedSeq: 9) {{ {RESULT} }} }}'
    )
    assert data["deleteDatabase"]["__typename"] == "ConflictError"
    deleted = await shop.data(
        f'mutation {{ deleteDatabase(name: "shop", expectedSeq: 1) {{ {RESULT} }} }}'
    )
    assert deleted["deleteDatabase"]["__typename"] == "CommandReceipt"


async def test_branches_list_main_and_created_branches(shop: GraphQL) -> None:
    await shop.data(
        f'mutation {{ createBranch(db: "shop", name: "dev") {{ {RESULT} }} }}'
    )

    async def names() -> list[str]:
        data = await shop.data('{ branches(db: "shop") { name parent forkPosition } }')
        return [b["name"] for b in data["branches"]]

    assert await eventually(names, lambda n: "dev" in n) == ["main", "dev"]


async def test_commands_audit_log_and_dead_letters(shop: GraphQL) -> None:
    async def commands() -> list[dict[str, Any]]:
        data = await shop.data('{ commands(db: "shop") { id status aggregateId } }')
        result: list[dict[str, Any]] = data["commands"]
        return result

    listed = await eventually(commands, lambda c: len(c) == 3)
    assert {c["aggregateId"] for c in listed} == {"shop", "Customer", "Product"}

    async def audit() -> list[dict[str, Any]]:
        data = await shop.data(
            '{ auditLog(db: "shop", actor: "admin") { eventType aggregateId seq actor } }'
        )
        result: list[dict[str, Any]] = data["auditLog"]
        return result

    entries = await eventually(audit, lambda e: len(e) == 3)
    assert {e["eventType"] for e in entries} == {
        "database.created.v1",
        "class.defined.v1",
    }
    data = await shop.data("{ deadLetters { id } }")
    assert data["deadLetters"] == []
    redrive = await shop.data("mutation { redriveDeadLetter(id: 12345) }")
    assert redrive["redriveDeadLetter"] is False


async def test_rejected_command_has_status_with_error(shop: GraphQL) -> None:
    data = await shop.data(
        f'mutation {{ createDatabase(name: "shop", commandId: "dup-db") {{ {RESULT} }} }}'
    )
    assert data["createDatabase"]["__typename"] == "ValidationError"
    status = await shop.data(
        '{ command(id: "dup-db") { status history { status } error { code message } } }'
    )
    command = status["command"]
    assert command["status"] == "REJECTED"
    assert command["error"]["code"] == "already_exists"
    missing = await shop.data('{ command(id: "never-sent") { id } }')
    assert missing["command"] is None


async def test_commands_filter_by_status_aggregate_and_actor(shop: GraphQL) -> None:
    await shop.data(
        f'mutation {{ createCustomer(input: {{customerId: "c1"}}, wait: INDEXED) {{ {RESULT} }} }}',
        "/graphql/shop",
    )
    response = await shop.http.post(
        "/graphql/shop",
        json={
            "query": f'mutation {{ createCustomer(input: {{customerId: "c1"}}) {{ {RESULT} }} }}'
        },
        headers=await shop.token("mallory", ("shop", "EDITOR")),
    )
    assert response.json()["data"]["createCustomer"]["__typename"] == "ConflictError"

    async def listed(where: dict[str, Any]) -> list[dict[str, Any]]:
        data = await shop.data(
            "query($w: CommandWhere) { commands(where: $w) { status aggregateId } }",
            w=where,
        )
        result: list[dict[str, Any]] = data["commands"]
        return result

    assert await listed({"db": "shop", "status": ["REJECTED"]}) == [
        {"status": "REJECTED", "aggregateId": "Customer/c1"}
    ]
    assert await listed({"aggregateId": "Customer/c1"}) == [
        {"status": "REJECTED", "aggregateId": "Customer/c1"},
        {"status": "COMPLETED", "aggregateId": "Customer/c1"},
    ]
    assert await listed({"actor": "mallory"}) == [
        {"status": "REJECTED", "aggregateId": "Customer/c1"}
    ]
    assert await listed({"db": "shop", "status": ["FAILED"]}) == []
