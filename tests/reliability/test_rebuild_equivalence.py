"""R15 Rebuild equivalence: every projection rebuilt from the event store into a
shadow and swapped in equals the live one; a damaged live projection is restored;
reads keep answering during a rebuild and writes made meanwhile are not lost.

Data is written through the handlers with the relay and every consumer running.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import delete, text

from adapters import tables as t
from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex
from app.bootstrap import Container, open_container
from app.rebuild import REBUILDABLE, RebuildUnsupported, rebuild
from app.settings import Settings
from domain import commands as c
from domain.ports import NodeVersion
from projections.graph import GraphProjection
from tests.reliability.conftest import (
    DB,
    create_item,
    create_items,
    delete_item,
    send,
    update_item,
    upsert_items,
)
from tests.reliability.support import (
    all_events,
    clean_hashes,
    item_stream,
    last_position,
    main_scope,
    wait_for_checkpoints,
)

HashOf = Callable[[Container], Awaitable[str]]
HASHES: dict[str, HashOf] = {
    "graph": lambda ct: ct.graph.content_hash(),
    "search": lambda ct: ct.search.content_hash(),
    "catalog": lambda ct: ct.catalog.content_hash(),
    "audit": lambda ct: ct.audit.content_hash(),
}


async def write_data(
    container: Container, *, instances: int, seed: int = 15
) -> dict[str, int]:
    """Bulk creates, updates, deletes, a class change and a branch with its own
    writes. Returns the seq of every live main instance."""
    rng = random.Random(seed)
    skus = [f"i{k:05}" for k in range(instances)]
    for start in range(0, instances, 500):
        await send(
            container,
            create_items(items=[{"sku": s, "n": 0} for s in skus[start : start + 500]]),
        )
    seqs = dict.fromkeys(skus, 1)
    updated = rng.sample(skus, instances // 4)
    await send(
        container,
        upsert_items(items=[{"sku": s, "n": 1, "note": "updated"} for s in updated]),
    )
    seqs.update(dict.fromkeys(updated, 2))
    for sku in rng.sample(skus, 20):
        await send(container, delete_item(sku=sku, expected_seq=seqs.pop(sku)))
    await send(
        container,
        c.AddProperty(
            db=DB,
            class_id="Item",
            property={"name": "colour", "type": "string"},
            expected_seq=1,
        ),
    )
    await send(container, c.CreateBranch(db=DB, name="feature"))
    await send(
        container,
        c.CreateInstance(
            db=DB, branch="feature", class_id="Item", data={"sku": "on-branch", "n": 1}
        ),
    )
    touched = next(iter(seqs))
    await send(
        container,
        c.UpdateInstance(
            db=DB,
            branch="feature",
            class_id="Item",
            instance_id=touched,
            patch={"n": 42},
            expected_seq=seqs[touched],
        ),
    )
    return seqs


async def settled(container: Container, *, max_wait: float = 60) -> int:
    """Waits until every consumer has processed everything written so far."""
    end = await last_position(container)
    assert await container.waiter.wait("APPLIED", DB, end, max_wait=max_wait)
    assert await container.waiter.wait("INDEXED", DB, end, max_wait=max_wait)
    await wait_for_checkpoints(container, ["catalog", "audit"], end, max_wait=max_wait)
    return end


async def hashes(container: Container) -> dict[str, str]:
    return {name: await hash_of(container) for name, hash_of in HASHES.items()}


async def test_rebuilding_each_projection_gives_the_live_hash(
    running_shop: Container,
) -> None:
    running = running_shop
    await write_data(running, instances=600)
    await settled(running)
    before = await hashes(running)

    for name in REBUILDABLE:
        report = await rebuild(running, name)
        assert report.shadow_hash == before[name], (
            f"{name}: rebuilt shadow differs from the live projection"
        )
        assert report.live_hash == before[name], (
            f"{name}: live projection changed by the swap"
        )
        assert report.events == await last_position(running)
    assert await hashes(running) == before


async def damage(container: Container) -> None:
    """Deletes live rows behind the consumers' backs (their tracking says done)."""
    async with container.database.write() as conn:
        await conn.execute(
            delete(t.graph_nodes).where(t.graph_nodes.c.instance_id.like("%1"))
        )
        await conn.execute(delete(t.catalog_classes))
        await conn.execute(delete(t.audit_log).where(t.audit_log.c.position % 3 == 0))
    search = container.search
    assert isinstance(search, SqliteFtsSearchIndex)
    assert container.search_database is not None
    async with container.search_database.write() as conn:
        await conn.execute(
            text(f"DELETE FROM {search.docs} WHERE instance_id LIKE '%2'")
        )


async def test_rebuild_restores_a_damaged_projection(running_shop: Container) -> None:
    running = running_shop
    await write_data(running, instances=300)
    await settled(running)
    before = await hashes(running)
    await damage(running)
    damaged = await hashes(running)
    assert all(damaged[name] != before[name] for name in REBUILDABLE), (
        "the damage did not change a projection"
    )

    for name in REBUILDABLE:
        await rebuild(running, name)
    assert await hashes(running) == before


async def read_during(
    container: Container, expected: dict[str, int], done: asyncio.Event
) -> list[int]:
    """Reads samples of the untouched instances until the rebuild is over; each read
    must see exactly the expected versions. Returns how many each read saw."""
    rng = random.Random(0)
    skus = sorted(expected)
    sizes = []
    while not done.is_set():
        sample = rng.sample(skus, 100)
        nodes: dict[str, NodeVersion] = await container.graph.get_many(
            main_scope(), ["Item"], sample
        )
        assert {sku: n.seq for sku, n in nodes.items()} == {
            s: expected[s] for s in sample
        }, "a read during the rebuild saw a half-swapped graph"
        sizes.append(len(nodes))
        await asyncio.sleep(0)
    return sizes


async def write_during(
    container: Container, seqs: dict[str, int], done: asyncio.Event
) -> dict[str, Any]:
    """Creates and updates instances until the rebuild is over; returns what it wrote."""
    written: dict[str, Any] = {}
    k = 0
    while not done.is_set() or k < 5:
        sku = f"during-{k:04}"
        await send(container, create_item(sku=sku, n=k))
        written[sku] = 1
        target = sorted(seqs)[k]
        await send(
            container,
            update_item(sku=target, expected_seq=seqs[target], note=f"during {k}"),
        )
        written[target] = seqs[target] + 1
        k += 1
    return written


@pytest.mark.parametrize("name", ["graph", "search"])
async def test_reads_keep_answering_and_writes_survive_a_concurrent_rebuild(
    running_shop: Container, name: str
) -> None:
    running = running_shop
    seqs = await write_data(running, instances=2000)
    await settled(running)
    movers = dict(sorted(seqs.items())[:200])
    still = {sku: seq for sku, seq in seqs.items() if sku not in movers}
    done = asyncio.Event()

    async def rebuild_then_stop() -> None:
        try:
            await rebuild(running, name)
        finally:
            done.set()

    _, sizes, written = await asyncio.gather(
        rebuild_then_stop(),
        read_during(running, still, done),
        write_during(running, movers, done),
    )

    assert len(sizes) >= 3, "no read overlapped the rebuild"
    assert set(sizes) == {100}
    await settled(running)
    nodes = await running.graph.get_many(main_scope(), ["Item"], sorted(written))
    assert {sku: n.seq for sku, n in nodes.items()} == written, (
        "a write made during the rebuild was lost"
    )
    documents = await running.search.get_many(
        DB, ["main"], [("Item", sku) for sku in written]
    )
    assert {key[2]: d.seq for key, d in documents.items()} == written
    events = await all_events(running)
    assert (
        await running.graph.content_hash(DB),
        await running.search.content_hash(DB),
    ) == await clean_hashes(running, events)


async def test_rebuild_while_an_event_waits_parked_leaves_nothing_parked(
    shop: Container,
) -> None:
    """The live consumer parked P's seq 3 (seq 2 not delivered yet); a rebuild
    replays everything; seq 2 then arrives as a duplicate. Nothing may stay parked."""
    await send(shop, create_item(sku="P"))
    for seq in (1, 2):
        await send(shop, update_item(sku="P", expected_seq=seq, n=seq))
    *registry, p1, p2, p3 = await all_events(shop)
    consumer = shop.consumer(GraphProjection(shop.graph))
    await consumer.handle([*registry, p1, p3])
    assert [
        e.seq for e in await shop.consumer_state.parked("graph", item_stream("P"))
    ] == [3]

    await rebuild(shop, "graph")
    await consumer.handle([p2, p3])

    node = (await shop.graph.get_many(main_scope(), ["Item"], ["P"]))["P"]
    assert node.seq == 3
    assert await shop.consumer_state.checkpoints("graph") == {DB: p3.position}
    assert await shop.consumer_state.parked_streams("graph") == [], (
        "a replayed event stays parked for ever"
    )


async def test_rebuilding_a_terminusdb_graph_is_refused_not_faked(
    settings: Settings,
) -> None:
    """The rebuild swaps SQL tables; on a TerminusDB graph store it would replay
    into tables nobody reads and report success. It refuses, and says why."""
    on_terminus = settings.model_copy(
        update={"graph_url": "terminusdb://admin:secret@127.0.0.1:9?timeout=1"}
    )
    async with open_container(on_terminus) as container:
        with pytest.raises(RebuildUnsupported, match="SQL graph store"):
            await rebuild(container, "graph")
