"""Unique properties and one-to-one targets through GraphQL: the second writer
gets a ValidationError with code unique_violation (cardinality_violation) and
the path of the input that asked."""

from __future__ import annotations

from typing import Any

from tests.graphql.client import CUSTOMER, RESULT, GraphQL

BANK = "/graphql/bank"
ACCOUNT: dict[str, Any] = {
    "id": "Account",
    "label": "Account",
    "primaryKey": "account_id",
    "properties": [
        {"name": "account_id", "type": "string", "required": True},
        {"name": "email", "type": "email", "unique": True},
    ],
    "relationships": [
        {"predicate": "holder", "target": "Customer", "cardinality": "ONE_TO_ONE"},
    ],
}
CREATE = f"""mutation($input: AccountInput!) {{
  createAccount(input: $input, wait: APPLIED) {{ {RESULT} }} }}"""
CREATE_MANY = f"""mutation($inputs: [AccountInput!]!) {{
  createAccounts(inputs: $inputs, wait: APPLIED) {{ {RESULT} }} }}"""


async def bank(gql: GraphQL) -> GraphQL:
    await gql.create_database("bank")
    await gql.define("bank", CUSTOMER, ACCOUNT)
    await gql.data(
        f'mutation {{ createCustomer(input: {{customerId: "c1"}}, wait: APPLIED) {{ {RESULT} }} }}',
        BANK,
    )
    return gql


async def test_a_second_account_with_one_email_is_a_validation_error(
    gql: GraphQL,
) -> None:
    await bank(gql)
    first = await gql.data(CREATE, BANK, input={"accountId": "a1", "email": "x@y.io"})
    assert first["createAccount"]["__typename"] == "CommandReceipt"

    second = await gql.data(CREATE, BANK, input={"accountId": "a2", "email": "x@y.io"})

    result = second["createAccount"]
    assert result["__typename"] == "ValidationError"
    assert [(e["path"], e["code"]) for e in result["errors"]] == [
        (["input", "email"], "unique_violation")
    ]


async def test_a_second_account_of_one_holder_is_a_validation_error(
    gql: GraphQL,
) -> None:
    await bank(gql)
    inputs = [
        {"accountId": "a1", "holder": "c1"},
        {"accountId": "a2", "holder": "c1"},
    ]

    data = await gql.data(CREATE_MANY, BANK, inputs=inputs)

    result = data["createAccounts"]
    assert result["__typename"] == "ValidationError"
    assert [(e["path"], e["code"]) for e in result["errors"]] == [
        (["inputs", "1", "holder"], "cardinality_violation")
    ]
