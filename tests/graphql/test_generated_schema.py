"""Generated schema: names per SPEC §4, local collision handling, the schema cache."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.graphql.wiring import INSTANCE_RESOLVERS
from domain.ontology import Ontology, class_from_dict
from schema.ontology.builder import GeneratedSchema, build_generated_schema
from tests.graphql.client import GraphQL


def _classes(*definitions: dict[str, Any]) -> Ontology:
    classes = [class_from_dict(d) for d in definitions]
    return Ontology({c.id: c for c in classes})


def _build(ontology: Ontology, *, version: int = 1) -> GeneratedSchema:
    return build_generated_schema(
        ontology, resolvers=INSTANCE_RESOLVERS, db="d", branch="main", version=version
    )


def _simple(class_id: str, *names: str) -> dict[str, Any]:
    return {
        "id": class_id,
        "label": class_id,
        "primary_key": "key",
        "properties": [{"name": n, "type": "string"} for n in ("key", *names)],
    }


def test_sdl_follows_the_core_names() -> None:
    ontology = _classes(
        _simple("Customer"),
        {**_simple("Product", "unit_price"), "relationships": [
            {"predicate": "owned_by", "target": "Customer", "cardinality": "n:1",
             "inverse": {"predicate": "owns"}}]},
    )  # fmt: skip
    sdl = _build(ontology).sdl()
    for line in (
        "product(id: ID!, asOf: Int, asOfTime: DateTime): Product",
        "products(where: ProductWhere, orderBy: [ProductOrderBy!], first: Int, after: String, asOf: Int, asOfTime: DateTime): ProductConnection!",
        "unitPrice: String",
        "regex: String",  # StringFilter
        "search: String",  # ProductWhere, the class-level full text
        "ownedBy: Customer",
        "owns(where: ProductWhere, orderBy: [ProductOrderBy!], first: Int, after: String): ProductConnection!",
        "createProduct(input: ProductInput!, commandId: ID, validateOnly: Boolean = false, wait: CommandStage): CommandResult!",
        "updateProduct(id: ID!, patch: ProductPatch!, expectedSeq: Int!, commandId: ID, validateOnly: Boolean = false, wait: CommandStage): CommandResult!",
        "deleteProduct(id: ID!, expectedSeq: Int!, commandId: ID, wait: CommandStage): CommandResult!",
        "createProducts(inputs: [ProductInput!]!, commandId: ID, wait: CommandStage): CommandResult!",
        "upsertProducts(inputs: [ProductInput!]!, commandId: ID, wait: CommandStage): CommandResult!",
        "union CommandResult = CommandReceipt | ConflictError | ValidationError | NotFoundError | PermissionError",
    ):
        assert line in sdl, line


def test_name_clashes_degrade_locally_with_warnings() -> None:
    ontology = _classes(
        _simple("product_line", "unit_price", "unitPrice"),
        _simple("ProductLine"),
        _simple("Query"),
        _simple("PageInfo"),
    )
    built = _build(ontology)
    sdl = built.sdl()
    assert "type ProductLine {" in sdl
    assert "type ProductLine2 {" in sdl
    assert "type Query2 {" in sdl
    assert "type PageInfo2 {" in sdl
    assert "unitPrice2: String" in sdl
    assert len(built.plan.warnings) == 4
    assert any("unitPrice" in w for w in built.plan.warnings)


def test_empty_ontology_still_builds() -> None:
    built = _build(Ontology({}), version=0)
    assert "_schema: SchemaInfo!" in built.sdl()


async def test_schema_is_built_once_per_ontology_version(
    shop: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[int] = []
    real = build_generated_schema

    def counting(*args: Any, **kwargs: Any) -> Any:
        builds.append(kwargs["version"])
        return real(*args, **kwargs)

    # The mount module calls the builder; count what it builds.
    monkeypatch.setattr("app.graphql.schemas.build_generated_schema", counting)
    query = "{ _schema { version } }"
    results = await asyncio.gather(
        *(shop.data(query, "/graphql/shop") for _ in range(5))
    )
    assert len({r["_schema"]["version"] for r in results}) == 1
    assert len(builds) == 1
    supplier = {**_simple("Supplier"), "primaryKey": "key"}
    del supplier["primary_key"]
    await shop.define("shop", supplier)
    after = await shop.data(query, "/graphql/shop")
    assert len(builds) == 2
    assert after["_schema"]["version"] > results[0]["_schema"]["version"]
    sdl_query = '{ supplier(id: "x") { key } }'
    assert (await shop.data(sdl_query, "/graphql/shop")) == {"supplier": None}
