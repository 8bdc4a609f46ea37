"""Ontology, database and branch commands through the handler."""

from __future__ import annotations

import pytest

from app.bootstrap import Container
from domain import commands as c
from domain.errors import ConcurrencyConflict, NotFoundError, ValidationFailed
from domain.events import INSTANCE, MAIN_BRANCH, StreamId
from domain.ontology import Ontology
from tests.commands.conftest import CUSTOMER, run


async def ontology(container: Container, branch: str = MAIN_BRANCH) -> Ontology:
    return (await container.handlers.model.branch_context("shop", branch)).ontology


async def test_defined_classes_form_the_branch_ontology(shop: Container) -> None:
    onto = await ontology(shop)
    assert onto.primary_key_of("Product") == "product_id"
    assert [r.predicate for r in onto.effective_relationships("Product")] == [
        "owned_by",
        "related",
    ]


async def test_invalid_definition_is_rejected_with_codes(shop: Container) -> None:
    definition = {
        "id": "Order",
        "label": "Order",
        "primary_key": "order_id",
        "properties": [
            {"name": "order_id", "type": "string", "required": True},
            {"name": "order_id", "type": "nonsense"},
        ],
        "relationships": [
            {"predicate": "buyer", "target": "Ghost", "cardinality": "n:1"}
        ],
    }
    with pytest.raises(ValidationFailed) as failure:
        await run(shop, c.DefineClass(db="shop", definition=definition))
    codes = {e.code for e in failure.value.errors}
    assert {"duplicate_property", "unknown_target_class"} <= codes


async def test_redefining_a_class_is_rejected(shop: Container) -> None:
    with pytest.raises(ValidationFailed) as failure:
        await run(shop, c.DefineClass(db="shop", definition=CUSTOMER))
    assert failure.value.errors[0].code == "class_exists"


async def test_subclass_instances_share_the_root_stream_and_are_found_via_the_parent(
    shop: Container,
) -> None:
    vip = {
        "id": "VipCustomer",
        "label": "VIP",
        "parent": "Customer",
        "properties": [{"name": "perk", "type": "string"}],
    }
    await run(shop, c.DefineClass(db="shop", definition=vip))
    await run(
        shop,
        c.CreateInstance(
            db="shop",
            class_id="VipCustomer",
            data={"customer_id": "V1", "perk": "lounge"},
        ),
    )
    with pytest.raises(ConcurrencyConflict):
        await run(
            shop,
            c.CreateInstance(
                db="shop", class_id="Customer", data={"customer_id": "V1"}
            ),
        )
    receipt = await run(
        shop,
        c.UpdateInstance(
            db="shop",
            class_id="Customer",
            instance_id="V1",
            patch={"name": "Vee"},
            expected_seq=1,
        ),
    )
    assert receipt.aggregate_id == "Customer/V1"
    data = {"product_id": "P1", "name": "x", "owned_by": "V1"}
    await run(shop, c.CreateInstance(db="shop", class_id="Product", data=data))


async def test_update_class_needs_the_current_seq(shop: Container) -> None:
    await run(
        shop,
        c.UpdateClass(
            db="shop",
            class_id="Customer",
            patch={"description": "buyers"},
            expected_seq=1,
        ),
    )
    with pytest.raises(ConcurrencyConflict) as conflict:
        await run(
            shop,
            c.UpdateClass(
                db="shop",
                class_id="Customer",
                patch={"description": "x"},
                expected_seq=1,
            ),
        )
    assert conflict.value.actual == 2


async def test_breaking_change_with_data_needs_a_migration_plan(
    shop: Container,
) -> None:
    await run(
        shop,
        c.CreateInstance(
            db="shop", class_id="Customer", data={"customer_id": "C1", "tier": "gold"}
        ),
    )
    with pytest.raises(ValidationFailed) as failure:
        await run(
            shop,
            c.RemoveProperty(
                db="shop", class_id="Customer", name="tier", expected_seq=1
            ),
        )
    assert failure.value.errors[0].code == "property_removed_with_data"
    plan = {"steps": [{"op": "remove", "property": "tier"}]}
    receipt = await run(
        shop,
        c.RemoveProperty(
            db="shop",
            class_id="Customer",
            name="tier",
            expected_seq=1,
            migration_plan=plan,
        ),
    )
    assert receipt.seq == 2
    assert "tier" not in {
        p.name for p in (await ontology(shop)).effective_properties("Customer")
    }
    stream = StreamId("shop", MAIN_BRANCH, INSTANCE, "Customer/C1")
    tip = (await shop.event_store.last_events([stream]))[stream]
    assert "tier" not in tip.data["values"]  # the plan dropped the value


async def test_property_and_relationship_commands_evolve_the_class(
    shop: Container,
) -> None:
    await run(
        shop,
        c.AddProperty(
            db="shop",
            class_id="Customer",
            property={"name": "email", "type": "email"},
            expected_seq=1,
        ),
    )
    rel = {"predicate": "favourite", "target": "Product", "cardinality": "n:1"}
    await run(
        shop,
        c.AddRelationship(
            db="shop", class_id="Customer", relationship=rel, expected_seq=2
        ),
    )
    await run(
        shop,
        c.ChangeProperty(
            db="shop",
            class_id="Customer",
            property={
                "name": "email",
                "type": "email",
                "required": False,
                "description": "contact",
            },
            expected_seq=3,
        ),
    )
    await run(
        shop,
        c.RemoveRelationship(
            db="shop", class_id="Customer", predicate="favourite", expected_seq=4
        ),
    )
    onto = await ontology(shop)
    assert "email" in {p.name for p in onto.effective_properties("Customer")}
    assert not onto.effective_relationships("Customer")
    with pytest.raises(ValidationFailed) as failure:
        await run(
            shop,
            c.CreateInstance(
                db="shop",
                class_id="Customer",
                data={"customer_id": "C1", "email": "not-an-email"},
            ),
        )
    assert failure.value.errors[0].code == "invalid_format"


async def test_deprecated_class_takes_no_new_instances(shop: Container) -> None:
    await run(shop, c.DeprecateClass(db="shop", class_id="Customer", expected_seq=1))
    with pytest.raises(ValidationFailed) as failure:
        await run(
            shop,
            c.CreateInstance(
                db="shop", class_id="Customer", data={"customer_id": "C1"}
            ),
        )
    assert failure.value.errors[0].code == "deprecated_class"


async def test_branch_sees_parent_as_of_the_fork_and_continues_its_seq(
    shop: Container,
) -> None:
    await run(
        shop,
        c.CreateInstance(
            db="shop", class_id="Customer", data={"customer_id": "C1", "name": "main"}
        ),
    )
    await run(shop, c.CreateBranch(db="shop", name="dev"))
    await run(
        shop,
        c.UpdateInstance(
            db="shop",
            class_id="Customer",
            instance_id="C1",
            patch={"name": "main2"},
            expected_seq=1,
        ),
    )
    # On dev the instance is still at seq 1: its first write there expects 1 and gives 2.
    receipt = await run(
        shop,
        c.UpdateInstance(
            db="shop",
            branch="dev",
            class_id="Customer",
            instance_id="C1",
            patch={"name": "dev"},
            expected_seq=1,
        ),
    )
    assert receipt.seq == 2
    main_tip = await shop.event_store.last_events(
        [StreamId("shop", MAIN_BRANCH, INSTANCE, "Customer/C1")]
    )
    dev_tip = await shop.event_store.last_events(
        [StreamId("shop", "dev", INSTANCE, "Customer/C1")]
    )
    assert (
        main_tip[StreamId("shop", MAIN_BRANCH, INSTANCE, "Customer/C1")].data["values"][
            "name"
        ]
        == "main2"
    )
    assert (
        dev_tip[StreamId("shop", "dev", INSTANCE, "Customer/C1")].data["values"]["name"]
        == "dev"
    )


async def test_classes_defined_on_a_branch_stay_there(shop: Container) -> None:
    await run(shop, c.CreateBranch(db="shop", name="dev"))
    definition = {
        "id": "Note",
        "label": "Note",
        "primary_key": "note_id",
        "properties": [{"name": "note_id", "type": "string", "required": True}],
    }
    await run(shop, c.DefineClass(db="shop", branch="dev", definition=definition))
    assert (await ontology(shop, "dev")).get("Note") is not None
    assert (await ontology(shop)).get("Note") is None


async def test_branch_at_a_position_and_bad_positions(shop: Container) -> None:
    await run(shop, c.CreateBranch(db="shop", name="old", at_position=1))
    assert (await ontology(shop, "old")).get("Customer") is None
    with pytest.raises(ValidationFailed):
        await run(shop, c.CreateBranch(db="shop", name="future", at_position=10_000))
    with pytest.raises(NotFoundError):
        await run(shop, c.CreateBranch(db="shop", name="x", from_branch="ghost"))


async def test_deleted_branch_and_database_take_no_writes(shop: Container) -> None:
    await run(shop, c.CreateBranch(db="shop", name="dev"))
    await run(shop, c.DeleteBranch(db="shop", name="dev", expected_seq=1))
    with pytest.raises(NotFoundError):
        await run(
            shop,
            c.CreateInstance(
                db="shop", branch="dev", class_id="Customer", data={"customer_id": "C1"}
            ),
        )
    await run(shop, c.DeleteDatabase(name="shop", expected_seq=1))
    with pytest.raises(NotFoundError):
        await run(
            shop,
            c.CreateInstance(
                db="shop", class_id="Customer", data={"customer_id": "C1"}
            ),
        )


async def test_invalid_database_name_is_rejected(container: Container) -> None:
    with pytest.raises(ValidationFailed) as failure:
        await run(container, c.CreateDatabase(name="Bad Name"))
    assert failure.value.errors[0].path == ("name",)


async def test_a_second_handler_process_sees_classes_defined_by_the_first(
    shop: Container,
) -> None:
    from domain.handlers import CommandHandlers

    other = CommandHandlers(shop.event_store)
    await other.dispatch(
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
        c.CommandMeta(command_id="x1"),
    )
    definition = {
        "id": "Late",
        "label": "Late",
        "primary_key": "late_id",
        "properties": [{"name": "late_id", "type": "string", "required": True}],
    }
    await run(shop, c.DefineClass(db="shop", definition=definition))
    receipt = await other.dispatch(
        c.CreateInstance(db="shop", class_id="Late", data={"late_id": "L1"}),
        c.CommandMeta(command_id="x2"),
    )
    assert receipt.seq == 1
