"""Rows gone from a new dataset version: deleted only when asked (`deleteMissing`),
only among the instances the same mapping wrote, and in bulk delete commands
that are atomic (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from app.bootstrap import Container
from app.graphql.endpoint import ports_of
from domain import commands as c
from domain import events as ev
from domain.commands import RecordObjectifyRun
from domain.dataplane.objectify import PARTIAL, SUCCEEDED, Row
from domain.errors import ConcurrencyConflict, NotFoundError
from domain.events import INSTANCE, MAIN_BRANCH, StreamId
from resolvers.objectify import ObjectifyOutcome, ObjectifyRequest, objectify
from schema.limits import Limits
from tests.commands.conftest import run
from tests.commands.test_objectify_writer import SPEC, rows, with_customers


async def objectify_and_record(
    container: Container,
    data: list[Row],
    run_id: str,
    *,
    delete_missing: bool = False,
    allow_partial: bool = False,
) -> ObjectifyOutcome:
    """A run as `objectify` runs it: written, then recorded (the record is what
    a later run learns its mapping's instances from)."""
    request = ObjectifyRequest(
        db="shop",
        spec=SPEC,
        mapping_version=1,
        dataset_version=run_id,
        run_id=run_id,
        delete_missing=delete_missing,
        allow_partial=allow_partial,
    )
    outcome = await objectify(ports_of(container, Limits()), request, data)
    record = {
        "status": outcome.status,
        "mapping": f"{SPEC.id}:1",
        "branch": MAIN_BRANCH,
        "commandIds": outcome.command_ids,
    }
    await run(container, RecordObjectifyRun(db="shop", run_id=run_id, outcome=record))
    return outcome


async def live_products(container: Container) -> set[str]:
    events = await container.event_store.read_aggregate_type(
        "shop", MAIN_BRANCH, INSTANCE
    )
    tips = {e.aggregate_id: e for e in events if e.aggregate_id.startswith("Product/")}
    return {
        str(e.data["instance_id"])
        for e in tips.values()
        if e.event_type != ev.INSTANCE_DELETED
    }


async def test_rows_gone_from_a_version_stay_unless_delete_missing(
    shop: Container,
) -> None:
    await with_customers(shop)
    await objectify_and_record(shop, rows(5), "run-1")
    kept = await objectify_and_record(shop, rows(3), "run-2")
    assert (kept.status, kept.unchanged, kept.deleted) == (SUCCEEDED, 3, 0)
    assert await live_products(shop) == {"P1", "P2", "P3", "P4", "P5"}

    pruned = await objectify_and_record(shop, rows(3), "run-3", delete_missing=True)
    assert (pruned.status, pruned.unchanged, pruned.deleted) == (SUCCEEDED, 3, 2)
    assert await live_products(shop) == {"P1", "P2", "P3"}
    again = await objectify_and_record(shop, rows(3), "run-4", delete_missing=True)
    assert (again.deleted, again.command_ids) == (0, [])


async def test_only_instances_the_mapping_wrote_are_deleted(shop: Container) -> None:
    await with_customers(shop)
    await objectify_and_record(shop, rows(2), "run-1")
    by_hand = {"product_id": "H1", "name": "made by hand", "owned_by": "C1"}
    await run(shop, c.CreateInstance(db="shop", class_id="Product", data=by_hand))
    outcome = await objectify_and_record(shop, rows(1), "run-2", delete_missing=True)
    assert outcome.deleted == 1
    assert await live_products(shop) == {"P1", "H1"}


async def test_a_rejected_row_is_present_so_its_instance_is_not_deleted(
    shop: Container,
) -> None:
    await with_customers(shop)
    await objectify_and_record(shop, rows(3), "run-1")
    data = rows(3)
    data[1] = {**data[1], "price": "-1"}  # P2 is still in the file, but invalid
    outcome = await objectify_and_record(
        shop, data[:2], "run-2", delete_missing=True, allow_partial=True
    )
    assert (outcome.status, outcome.rejected, outcome.deleted) == (PARTIAL, 1, 1)
    assert await live_products(shop) == {"P1", "P2"}


async def test_deletes_ride_with_the_run_in_the_lineage_metadata(
    shop: Container,
) -> None:
    await with_customers(shop)
    await objectify_and_record(shop, rows(2), "run-1")
    await objectify_and_record(shop, rows(1), "run-2", delete_missing=True)
    stream = StreamId("shop", MAIN_BRANCH, INSTANCE, "Product/P2")
    last = (await shop.event_store.read_stream(stream))[-1]
    assert last.event_type == ev.INSTANCE_DELETED
    assert last.metadata["objectify_run"] == "run-2"


async def test_bulk_delete_is_all_or_nothing(shop: Container) -> None:
    await with_customers(shop)
    await run(shop, c.DeleteInstances(db="shop", class_id="Customer",
                                      expected_seqs={"C1": 1, "C2": 1}))  # fmt: skip
    with pytest.raises(NotFoundError):
        await run(shop, c.DeleteInstances(db="shop", class_id="Customer",
                                          expected_seqs={"C3": 1, "C2": 2}))  # fmt: skip
    with pytest.raises(ConcurrencyConflict):
        await run(shop, c.DeleteInstances(db="shop", class_id="Customer",
                                          expected_seqs={"C3": 1, "C4": 7}))  # fmt: skip
    events = await shop.event_store.read_aggregate_type("shop", MAIN_BRANCH, INSTANCE)
    deleted = {e.data["instance_id"] for e in events if e.event_type == ev.INSTANCE_DELETED}  # fmt: skip
    assert deleted == {"C1", "C2"}
