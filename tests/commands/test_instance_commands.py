"""Instance commands through the handler: validation, OCC, idempotency, atomic bulk."""

from __future__ import annotations

from typing import Any

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.errors import (
    AlreadyExistsError,
    ConcurrencyConflict,
    IdempotencyConflict,
    NotFoundError,
    ValidationFailed,
)
from domain.events import INSTANCE, MAIN_BRANCH, StreamId
from tests.commands.conftest import run


def stream(aggregate_id: str, branch: str = MAIN_BRANCH) -> StreamId:
    return StreamId("shop", branch, INSTANCE, aggregate_id)


async def positions(container: Container) -> int:
    return (await container.event_store.last_positions()).get("shop", 0)


async def test_create_returns_receipt_with_seq_one(shop: Container) -> None:
    receipt = await run(
        shop,
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
    )
    assert (receipt.aggregate_id, receipt.seq) == ("Customer/C1", 1)
    events = await shop.event_store.read_stream(stream("Customer/C1"))
    assert [e.event_type for e in events] == ["instance.created.v1"]
    assert events[0].data["values"] == {"customer_id": "C1"}


BAD_CREATES: list[tuple[str, str, dict[str, Any], tuple[str, ...], str]] = [
    (
        "wrong type",
        "Product",
        {"product_id": "P1", "name": "x", "stock": "many"},
        ("stock",),
        "type_mismatch",
    ),
    (
        "unknown property",
        "Product",
        {"product_id": "P1", "name": "x", "colour": "red"},
        ("colour",),
        "unknown_property",
    ),
    ("missing required", "Product", {"product_id": "P1"}, ("name",), "required"),
    (
        "broken constraint",
        "Product",
        {"product_id": "P1", "name": "x", "price": "-1"},
        ("price",),
        "minimum",
    ),
    (
        "enum value",
        "Customer",
        {"customer_id": "C1", "tier": "bronze"},
        ("tier",),
        "enum_value",
    ),
    (
        "max length",
        "Customer",
        {"customer_id": "C1", "name": "x" * 21},
        ("name",),
        "max_length",
    ),
    (
        "dangling reference",
        "Product",
        {"product_id": "P1", "name": "x", "owned_by": "C404"},
        ("owned_by",),
        "dangling_reference",
    ),
    (
        "invalid id",
        "Customer",
        {"customer_id": "has space"},
        ("customer_id",),
        "invalid_instance_id",
    ),
]


@pytest.mark.parametrize(
    ("class_id", "data", "path", "code"),
    [b[1:] for b in BAD_CREATES],
    ids=[b[0] for b in BAD_CREATES],
)
async def test_bad_create_is_rejected_with_code_and_path_and_writes_nothing(
    shop: Container,
    class_id: str,
    data: dict[str, Any],
    path: tuple[str, ...],
    code: str,
) -> None:
    before = await positions(shop)
    with pytest.raises(ValidationFailed) as failure:
        await run(shop, c.CreateInstance(db="shop", class_id=class_id, data=data))
    assert (path, code) in [(e.path, e.code) for e in failure.value.errors]
    assert await positions(shop) == before


async def test_unknown_class_is_rejected(shop: Container) -> None:
    with pytest.raises(ValidationFailed) as failure:
        await run(shop, c.CreateInstance(db="shop", class_id="Nope", data={"x": 1}))
    assert failure.value.errors[0].code == "unknown_class"


async def test_unknown_database_is_not_found(shop: Container) -> None:
    with pytest.raises(NotFoundError):
        await run(
            shop,
            c.CreateInstance(
                db="nowhere", class_id="Customer", data={"customer_id": "C1"}
            ),
        )


async def test_creating_an_existing_instance_conflicts_with_its_seq(
    shop: Container,
) -> None:
    await run(
        shop,
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
    )
    with pytest.raises(ConcurrencyConflict) as conflict:
        await run(
            shop,
            c.CreateInstance(
                db="shop", class_id="Customer", data={"customer_id": "C1"}
            ),
        )
    assert (conflict.value.expected, conflict.value.actual) == (0, 1)


async def test_patch_keeps_absent_fields_and_clears_explicit_nulls(
    shop: Container,
) -> None:
    await run(
        shop,
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
    )
    data = {"product_id": "P1", "name": "Widget", "price": "9.50", "owned_by": "C1"}
    await run(shop, c.CreateInstance(db="shop", class_id="Product", data=data))
    patch = {"price": None, "owned_by": None, "stock": 3}
    receipt = await run(
        shop,
        c.UpdateInstance(
            db="shop", class_id="Product", instance_id="P1", patch=patch, expected_seq=1
        ),
    )
    assert receipt.seq == 2
    last = (await shop.event_store.last_events([stream("Product/P1")]))[
        stream("Product/P1")
    ]
    assert last.data["values"] == {"product_id": "P1", "name": "Widget", "stock": 3}
    assert last.data["links"] == {}


async def test_stale_update_conflicts_and_writes_nothing(shop: Container) -> None:
    await run(
        shop,
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
    )
    await run(
        shop,
        c.UpdateInstance(
            db="shop",
            class_id="Customer",
            instance_id="C1",
            patch={"name": "a"},
            expected_seq=1,
        ),
    )
    before = await positions(shop)
    with pytest.raises(ConcurrencyConflict) as conflict:
        await run(
            shop,
            c.UpdateInstance(
                db="shop",
                class_id="Customer",
                instance_id="C1",
                patch={"name": "b"},
                expected_seq=1,
            ),
        )
    assert (conflict.value.aggregate_id, conflict.value.actual) == ("Customer/C1", 2)
    assert await positions(shop) == before


async def test_changing_the_primary_key_is_rejected(shop: Container) -> None:
    await run(
        shop,
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
    )
    with pytest.raises(ValidationFailed) as failure:
        await run(
            shop,
            c.UpdateInstance(
                db="shop",
                class_id="Customer",
                instance_id="C1",
                patch={"customer_id": "C2"},
                expected_seq=1,
            ),
        )
    assert failure.value.errors[0].code == "primary_key_immutable"


async def test_deleted_instance_is_not_found_and_recreate_needs_its_seq(
    shop: Container,
) -> None:
    await run(
        shop,
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
    )
    await run(
        shop,
        c.DeleteInstance(
            db="shop", class_id="Customer", instance_id="C1", expected_seq=1
        ),
    )
    with pytest.raises(NotFoundError):
        await run(
            shop,
            c.UpdateInstance(
                db="shop",
                class_id="Customer",
                instance_id="C1",
                patch={"name": "x"},
                expected_seq=2,
            ),
        )
    with pytest.raises(ConcurrencyConflict) as conflict:
        await run(
            shop,
            c.CreateInstance(
                db="shop", class_id="Customer", data={"customer_id": "C1"}
            ),
        )
    assert conflict.value.actual == 2
    receipt = await run(
        shop,
        c.UpsertInstances(
            db="shop", class_id="Customer", items=[{"customer_id": "C1"}]
        ),
    )
    assert receipt.seq == 3


async def test_identical_retry_returns_the_original_receipt_even_after_other_writes(
    shop: Container,
) -> None:
    create = c.CreateInstance(
        db="shop", class_id="Customer", data={"customer_id": "C1"}
    )
    first = await run(shop, create, command_id="cmd-1")
    await run(
        shop,
        c.UpdateInstance(
            db="shop",
            class_id="Customer",
            instance_id="C1",
            patch={"name": "x"},
            expected_seq=1,
        ),
    )
    before = await positions(shop)
    again = await run(shop, create, command_id="cmd-1")
    assert (again.seq, again.first_position, again.duplicate) == (
        first.seq,
        first.first_position,
        True,
    )
    assert await positions(shop) == before
    with pytest.raises(IdempotencyConflict):
        await run(
            shop,
            c.CreateInstance(
                db="shop", class_id="Customer", data={"customer_id": "C9"}
            ),
            command_id="cmd-1",
        )


async def test_bulk_create_is_atomic_and_reports_every_bad_item(
    shop: Container,
) -> None:
    items = [{"customer_id": f"C{i}"} for i in range(300)]
    items[7] = {"customer_id": "C7", "tier": "bronze"}
    items[250] = {"customer_id": "C1"}  # duplicate of item 1
    before = await positions(shop)
    with pytest.raises(ValidationFailed) as failure:
        await run(shop, c.CreateInstances(db="shop", class_id="Customer", items=items))
    found = {(e.path, e.code) for e in failure.value.errors}
    assert (("inputs", "7", "tier"), "enum_value") in found
    assert (("inputs", "250"), "duplicate_instance") in found
    assert await positions(shop) == before


async def test_bulk_create_writes_every_instance_in_one_command(
    shop: Container,
) -> None:
    items = [{"customer_id": f"C{i}"} for i in range(500)]
    receipt = await run(
        shop, c.CreateInstances(db="shop", class_id="Customer", items=items)
    )
    assert receipt.last_position - receipt.first_position == 499
    events = await shop.event_store.read_positions(
        "shop", after_position=receipt.first_position - 1, limit=1000
    )
    assert {e.command_id for e in events} == {receipt.command_id}
    assert len(events) == 500


async def test_bulk_references_may_target_instances_created_in_the_same_command(
    shop: Container,
) -> None:
    items = [
        {"product_id": "P1", "name": "a", "related": ["P2"]},
        {"product_id": "P2", "name": "b", "related": ["P1"]},
    ]
    receipt = await run(
        shop, c.CreateInstances(db="shop", class_id="Product", items=items)
    )
    assert receipt.last_position - receipt.first_position == 1


async def test_upsert_creates_and_patches_in_one_atomic_command(
    shop: Container,
) -> None:
    await run(
        shop,
        c.CreateInstance(
            db="shop", class_id="Customer", data={"customer_id": "C1", "name": "old"}
        ),
    )
    items = [
        {"customer_id": "C1", "name": "new"},
        {"customer_id": "C2", "name": "fresh"},
    ]
    await run(shop, c.UpsertInstances(db="shop", class_id="Customer", items=items))
    tips = await shop.event_store.last_events(
        [stream("Customer/C1"), stream("Customer/C2")]
    )
    assert tips[stream("Customer/C1")].seq == 2
    assert tips[stream("Customer/C1")].data["values"]["name"] == "new"
    assert tips[stream("Customer/C2")].data["values"]["name"] == "fresh"


async def test_validate_only_checks_without_writing(shop: Container) -> None:
    before = await positions(shop)
    meta = c.CommandMeta(command_id="dry-1", validate_only=True)
    receipt = await shop.handlers.dispatch(
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
        meta,
    )
    assert receipt.validated_only
    assert receipt.seq == 1
    assert await positions(shop) == before


async def test_rejections_are_recorded_for_command_status(shop: Container) -> None:
    with pytest.raises(ValidationFailed):
        await run(
            shop,
            c.CreateInstance(
                db="shop", class_id="Customer", data={"customer_id": "C1", "tier": "x"}
            ),
            command_id="bad-1",
        )
    status = await shop.status.status("bad-1")
    assert status is not None
    assert status.state == "REJECTED"
    assert status.error is not None
    assert status.error["errors"][0]["code"] == "enum_value"


async def test_creating_an_existing_database_is_rejected(shop: Container) -> None:
    with pytest.raises(AlreadyExistsError):
        await run(shop, c.CreateDatabase(name="shop"))
