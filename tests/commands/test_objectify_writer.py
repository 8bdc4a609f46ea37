"""Objectify's writer against a real container: bulk commands, lineage metadata,
idempotent re-runs and patches of changed rows only (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.bootstrap import Container
from app.graphql.endpoint import ports_of
from domain import commands as c
from domain.dataplane.mapping import MappingSpec
from domain.dataplane.objectify import FAILED, SUCCEEDED, Row
from domain.events import INSTANCE, MAIN_BRANCH, StreamId
from resolvers.objectify import CHUNK, ObjectifyOutcome, ObjectifyRequest, objectify
from schema.limits import Limits
from tests.commands.conftest import run

SPEC = MappingSpec.from_input(
    {
        "id": "products",
        "dataset": "products",
        "classId": "Product",
        "properties": [
            {"column": "sku", "property": "product_id"},
            {"column": "title", "property": "name"},
            {"column": "price", "property": "price"},
            {"column": "stock", "property": "stock"},
        ],
        "relationships": [{"column": "owner", "predicate": "owned_by"}],
    }
)


def rows(count: int, *, changed: frozenset[int] = frozenset()) -> list[Row]:
    return [
        {
            "sku": f"P{n}",
            "title": f"Product {n}",
            "price": "9.50",
            "stock": str(n + 1000 if n in changed else n),
            "owner": f"C{n % 10}",
        }
        for n in range(1, count + 1)
    ]


async def run_objectify(
    container: Container,
    data: list[Row],
    run_id: str,
    *,
    version: str = "v1",
    chunk_size: int = CHUNK,
) -> tuple[ObjectifyOutcome, list[tuple[int, int]]]:
    request = ObjectifyRequest(
        db="shop",
        spec=SPEC,
        mapping_version=1,
        dataset_version=version,
        run_id=run_id,
        actor="tester",
        chunk_size=chunk_size,
    )
    seen: list[tuple[int, int]] = []
    outcome = await objectify(
        ports_of(container, Limits()),
        request,
        data,
        progress=lambda done, total: seen.append((done, total)),
    )
    return outcome, seen


async def position(container: Container) -> int:
    return (await container.event_store.last_positions()).get("shop", 0)


async def with_customers(shop: Container) -> Container:
    customers = [{"customer_id": f"C{i}"} for i in range(10)]
    await run(shop, c.CreateInstances(db="shop", class_id="Customer", items=customers))
    return shop


async def test_objectify_creates_then_changes_nothing_then_patches_ten(
    shop: Container,
) -> None:
    await with_customers(shop)
    first, progress = await run_objectify(shop, rows(1000), "run-1", chunk_size=500)
    assert (first.status, first.created, first.rejected) == (SUCCEEDED, 1000, 0)
    assert len(first.command_ids) == 2
    assert progress == [(500, 1000), (1000, 1000)]

    before = await position(shop)
    again, _ = await run_objectify(shop, rows(1000), "run-2")
    assert (again.status, again.unchanged, again.created, again.updated) == (
        SUCCEEDED,
        1000,
        0,
        0,
    )
    assert again.command_ids == []
    assert await position(shop) == before

    changed = frozenset(range(1, 11))
    third, _ = await run_objectify(
        shop, rows(1000, changed=changed), "run-3", version="v2"
    )
    assert (third.updated, third.unchanged, third.created) == (10, 990, 0)
    assert await position(shop) == before + 10


async def test_every_event_carries_the_run_mapping_and_dataset_version(
    shop: Container,
) -> None:
    await with_customers(shop)
    await run_objectify(shop, rows(3), "run-a")
    await run_objectify(shop, rows(3, changed=frozenset({2})), "run-b", version="v2")
    events = await shop.event_store.read_stream(
        StreamId("shop", MAIN_BRANCH, INSTANCE, "Product/P2")
    )
    assert [e.data["values"]["stock"] for e in events] == [2, 1002]
    lineage = [
        {k: e.metadata.get(k) for k in ("objectify_run", "mapping", "dataset_version")}
        for e in events
    ]
    assert lineage == [
        {"objectify_run": "run-a", "mapping": "products:1", "dataset_version": "v1"},
        {"objectify_run": "run-b", "mapping": "products:1", "dataset_version": "v2"},
    ]


async def test_a_failed_gate_writes_nothing(shop: Container) -> None:
    await with_customers(shop)
    data = rows(5)
    data[3] = {**data[3], "owner": "C404"}
    before = await position(shop)
    outcome, _ = await run_objectify(shop, data, "run-x")
    assert outcome.status == FAILED
    assert [(e.row, e.column, e.code) for e in outcome.errors] == [
        (4, "owner", "dangling_reference")
    ]
    assert await position(shop) == before


async def test_allow_partial_writes_the_valid_rows(shop: Container) -> None:
    await with_customers(shop)
    data = rows(5)
    data[1] = {**data[1], "price": "-1"}
    request = ObjectifyRequest(
        db="shop",
        spec=SPEC,
        mapping_version=1,
        dataset_version="v1",
        run_id="run-p",
        allow_partial=True,
    )
    outcome = await objectify(ports_of(shop, Limits()), request, data)
    assert (outcome.status, outcome.created, outcome.rejected) == ("PARTIAL", 4, 1)
    assert [(e.row, e.code) for e in outcome.errors] == [(2, "minimum")]


async def test_a_deleted_instance_is_created_again(shop: Container) -> None:
    await with_customers(shop)
    await run_objectify(shop, rows(2), "run-1")
    await run(
        shop,
        c.DeleteInstance(
            db="shop", class_id="Product", instance_id="P1", expected_seq=1
        ),
    )
    outcome, _ = await run_objectify(shop, rows(2), "run-2")
    assert (outcome.status, outcome.created, outcome.unchanged) == (SUCCEEDED, 1, 1)


async def test_targets_created_by_the_run_are_written_before_their_sources(
    shop: Container,
) -> None:
    node = {
        "id": "Node",
        "primary_key": "node_id",
        "properties": [{"name": "node_id", "type": "string"}],
        "relationships": [
            {"predicate": "parent", "target": "Node", "cardinality": "n:1"}
        ],
    }
    await run(shop, c.DefineClass(db="shop", definition=node))
    spec = MappingSpec.from_input(
        {
            "id": "nodes",
            "dataset": "nodes",
            "classId": "Node",
            "properties": [{"column": "id", "property": "node_id"}],
            "relationships": [{"column": "parent", "predicate": "parent"}],
        }
    )
    # Each node's parent comes later in the file, in a later chunk of 2.
    data: list[Row] = [
        {"id": f"n{i}", "parent": f"n{i + 1}" if i < 9 else None} for i in range(10)
    ]
    request = ObjectifyRequest(
        db="shop",
        spec=spec,
        mapping_version=1,
        dataset_version="v1",
        run_id="run-n",
        chunk_size=2,
    )
    outcome = await objectify(ports_of(shop, Limits()), request, data)
    assert (outcome.status, outcome.created, outcome.errors) == (SUCCEEDED, 10, [])


async def test_a_run_staged_on_disk_writes_what_one_in_memory_writes(
    shop: Container,
) -> None:
    """Rows given in batches of 7, commands of 10, staged on disk past 15: the
    outcome and the instances equal an in-memory run's."""
    await with_customers(shop)
    data = rows(50)
    data[20] = {**data[20], "price": "-1"}

    async def batches() -> AsyncIterator[list[Row]]:
        for start in range(0, len(data), 7):
            yield data[start : start + 7]

    request = ObjectifyRequest(
        db="shop", spec=SPEC, mapping_version=1, dataset_version="v1",
        run_id="run-s", allow_partial=True, chunk_size=10, spill_after=15,
    )  # fmt: skip
    outcome = await objectify(ports_of(shop, Limits()), request, batches())
    assert (outcome.status, outcome.rows, outcome.created) == ("PARTIAL", 50, 49)
    assert [(e.row, e.code) for e in outcome.errors] == [(21, "minimum")]
    assert len(outcome.command_ids) == 5
    events = await shop.event_store.read_aggregate_type("shop", MAIN_BRANCH, INSTANCE)
    products = {
        e.data["instance_id"] for e in events if e.data["class_id"] == "Product"
    }
    assert products == {f"P{n}" for n in range(1, 51)} - {"P21"}
    again = await objectify(ports_of(shop, Limits()), request, data)
    assert (again.unchanged, again.created, again.command_ids) == (49, 0, [])
