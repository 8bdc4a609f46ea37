"""Inheritance in the generated schema: an interface per class with subclasses,
subclass objects behind parent fields, subclass fields through fragments."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql.client import RESULT, GraphQL
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack

PATH = "/graphql/lib"


def _props(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "type": "string"} for n in names]


ITEM = {"id": "Item", "label": "Item", "abstract": True, "primaryKey": "item_id",
        "properties": _props("item_id", "title")}  # fmt: skip
BOOK = {"id": "Book", "label": "Book", "parent": "Item", "properties": _props("isbn")}
EBOOK = {"id": "Ebook", "label": "Ebook", "parent": "Book", "properties": _props("url")}
GADGET = {"id": "Gadget", "label": "Gadget", "parent": "Item", "properties": _props("watts")}  # fmt: skip
RACK = {
    "id": "Rack", "label": "Rack", "primaryKey": "rack_id", "properties": _props("rack_id"),
    "relationships": [{"predicate": "holds", "target": "Item", "cardinality": "MANY_TO_MANY",
                       "inverse": {"predicate": "racked_on"}}],
}  # fmt: skip


@pytest.fixture
async def library(gql: GraphQL) -> GraphQL:
    await gql.create_database("lib")
    await gql.define("lib", ITEM, BOOK, EBOOK, GADGET, RACK)
    for mutation, kind, inputs in (
        ("createBooks", "BookInput", [{"itemId": "b1", "title": "Dune", "isbn": "978"}]),
        ("createEbooks", "EbookInput", [{"itemId": "e1", "title": "Emma", "isbn": "979", "url": "u"}]),
        ("createGadgets", "GadgetInput", [{"itemId": "g1", "title": "Lamp", "watts": "40"}]),
        ("createRacks", "RackInput", [{"rackId": "s1", "holds": ["b1", "g1", "e1"]}]),
    ):  # fmt: skip
        data = await gql.data(
            f"mutation($i: [{kind}!]!) {{ {mutation}(inputs: $i, wait: APPLIED) {{ {RESULT} }} }}",
            PATH,
            i=inputs,
        )
        assert data[mutation]["__typename"] == "CommandReceipt", data
    return gql


async def _sdl(gql: GraphQL) -> str:
    view = await gql.app.graphql.schemas(gql.container).view("lib", "main")
    from graphql import print_schema

    return print_schema(view.engine.schema)


async def test_parents_are_interfaces_their_descendants_implement(
    library: GraphQL,
) -> None:
    sdl = await _sdl(library)
    assert "interface ItemInterface {" in sdl
    assert "interface BookInterface implements ItemInterface {" in sdl
    assert "type Book implements BookInterface & ItemInterface {" in sdl
    assert "type Ebook implements BookInterface & ItemInterface {" in sdl
    assert "type Gadget implements ItemInterface {" in sdl
    # The abstract class has no object type of its own; its fields return the interface.
    assert "type Item " not in sdl
    assert "item(id: ID!, asOf: Int, asOfTime: DateTime): ItemInterface" in sdl
    assert "holds(" in sdl
    assert "): ItemConnection!" in sdl


async def test_a_parent_list_returns_every_subclass_with_its_own_fields(
    library: GraphQL,
) -> None:
    data = await library.data(
        "{ items { totalCount nodes { __typename id title"
        " ... on BookInterface { isbn } ... on Ebook { url } ... on Gadget { watts } } } }",
        PATH,
    )
    assert data["items"]["totalCount"] == 3
    assert data["items"]["nodes"] == [
        {"__typename": "Book", "id": "b1", "title": "Dune", "isbn": "978"},
        {"__typename": "Ebook", "id": "e1", "title": "Emma", "isbn": "979", "url": "u"},
        {"__typename": "Gadget", "id": "g1", "title": "Lamp", "watts": "40"},
    ]


async def test_a_subclass_list_holds_its_own_subclasses(library: GraphQL) -> None:
    data = await library.data(
        "{ books { nodes { __typename id ... on Book { isbn } } } }", PATH
    )
    # An object type's fragment applies to that type only, not to its subclasses.
    assert data["books"]["nodes"] == [
        {"__typename": "Book", "id": "b1", "isbn": "978"},
        {"__typename": "Ebook", "id": "e1"},
    ]


async def test_relationships_to_a_parent_resolve_the_concrete_type(
    library: GraphQL,
) -> None:
    data = await library.data(
        '{ rack(id: "s1") { holds { nodes { __typename ... on Gadget { watts } } } } '
        'item(id: "e1") { __typename title rackedOn { nodes { id } } } }',
        PATH,
    )
    assert [n["__typename"] for n in data["rack"]["holds"]["nodes"]] == [
        "Book",
        "Gadget",
        "Ebook",
    ]
    assert data["rack"]["holds"]["nodes"][1] == {"__typename": "Gadget", "watts": "40"}
    assert data["item"] == {
        "__typename": "Ebook",
        "title": "Emma",
        "rackedOn": {"nodes": [{"id": "s1"}]},
    }


async def test_filters_on_a_parent_use_its_fields(library: GraphQL) -> None:
    data = await library.data(
        '{ items(where: {title: {startsWith: "E"}}) { nodes { __typename id } } }', PATH
    )
    assert data["items"]["nodes"] == [{"__typename": "Ebook", "id": "e1"}]
