"""R10-R13 with the Kafka bus: the consumer algorithm fed by real Kafka consumer
groups (several members, rebalances, committed offsets), PostgreSQL tracking and
read models. Events are put on the topic by hand - duplicated, reordered, delayed,
poisoned - and every run is checked against a clean single run afterwards.

R10 duplicates (also across rebalances), R11 out-of-order and delayed events of one
aggregate, R12 a crash while a low offset is still retrying, R13 a poison event that
lands in the SQL dead letters and on the `.dlq` topic, and is re-driven after a fix.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from adapters.message_bus.kafka_common import message_key
from app.bootstrap import Container
from domain.events import EventEnvelope, StreamId
from domain.ports import MessageBus
from projections.graph import GraphProjection
from projections.search import SearchProjection
from tests.production.conftest import GRAPH_STORES, Topics
from tests.production.support import (
    all_events,
    clean_run_hashes,
    committed_offsets,
    group_members,
    read_topic,
    tracked_ids,
    wait_until,
)
from tests.reliability.conftest import (
    DB,
    create_items,
    define_shop,
    send,
    upsert_items,
)
from tests.reliability.support import (
    Faulty,
    Recording,
    RetriableFault,
    SimulatedCrash,
    applied_seqs_by_stream,
    main_scope,
)
from workers.consumer import ProjectionConsumer, RetryPolicy
from workers.loop import run_consumer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.kafka,
    pytest.mark.timeout(90),
    # Also with TerminusDB as the graph store.
    pytest.mark.parametrize("graph_url", GRAPH_STORES, indirect=True),
]


# --- set-up --------------------------------------------------------------------------------


async def write(
    container: Container, *, aggregates: int, updates: int
) -> list[EventEnvelope]:
    """`aggregates` items created, each then updated `updates` times; every event of
    the database (also the database and class events), in position order."""
    await define_shop(container)
    skus = [f"agg-{i:04}" for i in range(aggregates)]
    await send(container, create_items(items=[{"sku": s, "n": 0} for s in skus]))
    for round_ in range(1, updates + 1):
        items = [{"sku": s, "n": round_, "note": f"update {round_}"} for s in skus]
        await send(container, upsert_items(items=items))
    return await all_events(container)


async def publish(
    bus: MessageBus, envelopes: Sequence[EventEnvelope], *, chunk: int = 200
) -> None:
    for start in range(0, len(envelopes), chunk):
        await bus.publish(envelopes[start : start + chunk])


@dataclass(slots=True)
class Member:
    """One member of a consumer group: a consumer loop in a task of its own."""

    consumer: ProjectionConsumer
    task: asyncio.Task[None]
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def halt(self) -> None:
        self.stop.set()
        await asyncio.wait_for(
            asyncio.gather(self.task, return_exceptions=True), timeout=30
        )


def join(
    container: Container, consumer: ProjectionConsumer, *, batch: int = 50
) -> Member:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_consumer(
            container.bus,
            consumer,
            stop,
            batch_size=batch,
            max_wait=0.05,
            retry=consumer_retry(),
        )
    )
    return Member(consumer, task, stop)


def consumer_retry() -> RetryPolicy:
    return RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


async def checkpoint(container: Container, consumer: str) -> int:
    return (await container.consumer_state.checkpoints(consumer)).get(DB, 0)


async def wait_for_checkpoint(
    container: Container,
    consumers: Sequence[str],
    position: int,
    *,
    within: float = 45,
) -> None:
    async def reached() -> bool:
        return all([await checkpoint(container, n) >= position for n in consumers])

    await wait_until(
        reached,
        within=within,
        what=f"{list(consumers)} at position {position}",
        interval=0.1,
    )


async def check_tracked_once(
    container: Container, consumer: str, events: Sequence[EventEnvelope]
) -> None:
    tracked = await tracked_ids(container, consumer)
    assert len(tracked) == len(set(tracked))
    assert sorted(tracked) == sorted(e.event_id for e in events), (
        f"{consumer} did not track every event once"
    )


# --- R10 --------------------------------------------------------------------------------------


async def test_r10_duplicates_and_rebalances_change_nothing(
    kafka_pg: Container, topics: Topics, tmp_path: Path
) -> None:
    container = kafka_pg
    events = await write(container, aggregates=200, updates=4)
    rng = random.Random(10)
    # Every event 1-3 times: the original in order, the copies up to 40 places later.
    later: dict[int, list[EventEnvelope]] = {}
    for i, event in enumerate(events):
        for _ in range(rng.randint(0, 2)):
            later.setdefault(i + rng.randint(0, 40), []).append(event)
    delivered: list[EventEnvelope] = []
    for i, event in enumerate(events):
        delivered += [event, *later.pop(i, [])]
    delivered += [e for copies in later.values() for e in copies]

    recordings = {
        member: [
            Recording(GraphProjection(container.graph)),
            Recording(SearchProjection(container.search)),
        ]
        for member in ("a", "b")
    }
    groups = [f"{topics.prefix}.{n}" for n in ("graph", "search")]
    end = events[-1].position
    cut1, cut2 = len(delivered) * 4 // 10, len(delivered) * 7 // 10
    await publish(container.bus, delivered[:cut1])
    members = [join(container, container.consumer(p)) for p in recordings["a"]]
    try:
        await wait_until(
            lambda: _tracked_at_least(container, end // 4),
            within=45,
            what="progress of the first members",
        )
        # A second member joins each group mid-stream: a rebalance hands partitions,
        # with handled-but-uncommitted deliveries, to the newcomer.
        members += [join(container, container.consumer(p)) for p in recordings["b"]]
        await wait_until(
            lambda: _groups_of_two(topics.bootstrap, groups),
            within=45,
            what="groups of two members",
        )
        await publish(container.bus, delivered[cut1:cut2])
        await wait_until(
            lambda: _truthy(all(r.applied for r in recordings["b"])),
            within=45,
            what="the newcomers to apply events",
        )
        # Then the first members leave: another rebalance, the rest goes to the newcomers.
        for member in members[:2]:
            await member.halt()
        await publish(container.bus, delivered[cut2:])
        await wait_for_checkpoint(container, ("graph", "search"), end)
    finally:
        for member in members:
            await member.halt()

    records = await read_topic(topics.bootstrap, topics.events)
    assert len(records) == len(delivered) > len(events)
    # The group consumed the whole topic: every duplicate was delivered somewhere.
    for group in ("graph", "search"):
        offsets = await committed_offsets(topics.bootstrap, f"{topics.prefix}.{group}")
        ends: dict[int, int] = {}
        for record in records:
            ends[record.partition] = record.offset + 1
        assert offsets == ends, (group, offsets, ends)
    assert all(r.applied for rs in recordings.values() for r in rs), (
        "a member applied nothing"
    )
    assert (
        await container.graph.content_hash(DB),
        await container.search.content_hash(DB),
    ) == await clean_run_hashes(container, events, tmp_path)
    for consumer in ("graph", "search"):
        await check_tracked_once(container, consumer, events)
    assert await container.consumer_state.dead_letters() == []


async def _tracked_at_least(container: Container, count: int) -> bool:
    return all(
        [len(await tracked_ids(container, n)) >= count for n in ("graph", "search")]
    )


async def _groups_of_two(bootstrap: str, groups: Sequence[str]) -> bool:
    return all([await _group_of(bootstrap, g, 2) for g in groups])


async def _truthy(value: bool) -> bool:
    return value


# --- R11 --------------------------------------------------------------------------------------


async def test_r11_swapped_and_delayed_events_apply_in_seq_order(
    kafka_pg: Container, topics: Topics, tmp_path: Path
) -> None:
    container = kafka_pg
    events = await write(container, aggregates=40, updates=3)
    instances = [e for e in events if e.aggregate_type == "instance"]
    by_stream: dict[StreamId, list[EventEnvelope]] = {}
    for event in instances:
        by_stream.setdefault(event.stream, []).append(event)
    streams = sorted(by_stream)
    swapped, delayed = set(streams[:10]), set(streams[10:20])
    held_back: list[EventEnvelope] = []
    first_phase = [e for e in events if e.aggregate_type != "instance"]
    for stream in streams:
        e1, e2, e3, e4 = by_stream[stream]
        if stream in swapped:
            # update2 before update1, and a stale copy of the creation at the end
            first_phase += [e1, e3, e2, e4, e1]
        elif stream in delayed:
            first_phase += [e1, e3, e4]  # update1 arrives much later
            held_back.append(e2)
        else:
            first_phase += [e1, e2, e3, e4]
    await publish(container.bus, first_phase)

    recording = Recording(GraphProjection(container.graph))
    member = join(container, container.consumer(recording))
    try:
        arrived = {e.event_id for e in first_phase}

        async def all_seen() -> bool:
            done = set(await tracked_ids(container, "graph"))
            parked = {
                e.event_id
                for s in delayed
                for e in await container.consumer_state.parked("graph", s)
            }
            return arrived <= done | parked

        await wait_until(
            all_seen, within=45, what="the first phase to be handled", interval=0.1
        )
        # Gaps wait: the delayed streams stop at their creation, their later events parked.
        assert set(await container.consumer_state.parked_streams("graph")) == delayed
        scope = main_scope()
        nodes = await container.graph.get_many(
            scope, ["Item"], [s.aggregate_id.split("/", 1)[1] for s in delayed]
        )
        assert {n.seq for n in nodes.values()} == {1}
        assert await checkpoint(container, "graph") < min(e.position for e in held_back)

        await publish(container.bus, held_back)
        await wait_for_checkpoint(container, ("graph",), events[-1].position)
    finally:
        await member.halt()

    applied = applied_seqs_by_stream(recording.applied)
    assert {s: applied[s] for s in streams} == {s: [1, 2, 3, 4] for s in streams}, (
        "applied seqs not strictly +1 once"
    )
    final = await container.graph.get_many(
        main_scope(), ["Item"], [s.aggregate_id.split("/", 1)[1] for s in streams]
    )
    assert {n.seq for n in final.values()} == {4}
    assert {n.values["note"] for n in final.values()} == {"update 3"}
    assert await container.consumer_state.parked_streams("graph") == []
    graph_hash, _ = await clean_run_hashes(container, events, tmp_path)
    assert await container.graph.content_hash(DB) == graph_hash
    await check_tracked_once(container, "graph", events)


# --- R12 --------------------------------------------------------------------------------------


async def test_r12_crash_while_a_low_offset_retries_skips_nothing(
    kafka_pg: Container, topics: Topics, tmp_path: Path
) -> None:
    container = kafka_pg
    events = await write(container, aggregates=300, updates=3)
    # Where each event will land (the producer's default partitioner), so the
    # poison can be chosen before anything is published: a low offset of partition 0.
    placed = place(events, partitions=3)
    poison, stuck_offset = next(
        (e, offset)
        for e, (partition, offset) in zip(events, placed, strict=True)
        if partition == 0 and offset >= 5 and e.aggregate_type == "instance"
    )
    rng = random.Random(12)
    crash_now = asyncio.Event()

    def failure() -> BaseException:
        return (
            SimulatedCrash("killed while retrying")
            if crash_now.is_set()
            else RetriableFault("still failing")
        )

    faulty = Faulty(
        GraphProjection(container.graph),
        event_id=poison.event_id,
        error=failure,
        latency=lambda: rng.uniform(0, 0.004),
    )
    # Retries for ever (as far as this test is concerned) inside the batch.
    patient = RetryPolicy(attempts=100_000, base_delay=0.005, max_delay=0.02)
    # One member per partition, settled before anything is published: the member
    # that owns partition 0 gets stuck, the others keep going.
    members = [
        join(
            container,
            ProjectionConsumer(
                faulty, container.consumer_state, container.event_store, retry=patient
            ),
        )
        for _ in range(3)
    ]
    group = f"{topics.prefix}.graph"
    try:
        await wait_until(
            lambda: _group_of(topics.bootstrap, group, 3),
            within=45,
            what="a group of three",
        )
        await publish(container.bus, events)
        records = await read_topic(topics.bootstrap, topics.events)
        assert [(r.partition, r.offset) for r in records] == sorted(placed)
        stuck = next(
            r for r in records if r.headers["event_id"] == poison.event_id.encode()
        )
        assert (stuck.partition, stuck.offset) == (0, stuck_offset)
        others = {r.headers["event_id"].decode() for r in records if r.partition != 0}

        async def others_done() -> bool:
            return (
                others <= set(await tracked_ids(container, "graph"))
                and len(faulty.attempts) >= 20
            )

        await wait_until(
            others_done,
            within=45,
            what="the other partitions to be handled",
            interval=0.1,
        )
        # The stuck record holds back its partition's commit and the checkpoint;
        # the other partitions commit to their ends (a commit follows handling, so
        # it may land a moment after the tracking rows).
        ends = {
            p: 1 + max(r.offset for r in records if r.partition == p) for p in (1, 2)
        }

        async def others_committed() -> bool:
            offsets = await committed_offsets(topics.bootstrap, group)
            return {p: offsets.get(p) for p in (1, 2)} == ends

        await wait_until(
            others_committed, within=30, what="partitions 1 and 2 to commit"
        )
        offsets = await committed_offsets(topics.bootstrap, group)
        assert offsets.get(0, -1) <= stuck.offset, (offsets, stuck.offset)
        assert await checkpoint(container, "graph") < poison.position
        assert poison.event_id not in set(await tracked_ids(container, "graph"))

        crash_now.set()
        await wait_until(
            lambda: _any_done(members), within=30, what="the stuck member to crash"
        )
    finally:
        for member in members:
            await member.halt()
    outcomes = [
        m.task.exception() if m.task.done() and not m.task.cancelled() else None
        for m in members
    ]
    assert any(isinstance(o, SimulatedCrash) for o in outcomes), outcomes

    fixed = Recording(GraphProjection(container.graph))
    restarted = join(
        container,
        ProjectionConsumer(fixed, container.consumer_state, container.event_store),
    )
    try:
        await wait_for_checkpoint(container, ("graph",), events[-1].position)
    finally:
        await restarted.halt()
    assert poison.event_id in {e.event_id for e in fixed.applied}
    graph_hash, _ = await clean_run_hashes(container, events, tmp_path)
    assert await container.graph.content_hash(DB) == graph_hash
    await check_tracked_once(container, "graph", events)


def place(events: Sequence[EventEnvelope], *, partitions: int) -> list[tuple[int, int]]:
    """(partition, offset) each event gets when published in this order to a fresh
    topic, by the default partitioner over the bus's message key."""
    counts = [0] * partitions
    placed = []
    for event in events:
        partition = DefaultPartitioner()(
            message_key(event), list(range(partitions)), []
        )
        placed.append((partition, counts[partition]))
        counts[partition] += 1
    return placed


async def _group_of(bootstrap: str, group: str, size: int) -> bool:
    return await group_members(bootstrap, group) == ("Stable", size)


async def _any_done(members: Sequence[Member]) -> bool:
    return any(m.task.done() for m in members)


# --- R13 --------------------------------------------------------------------------------------


async def test_r13_poison_event_is_dead_lettered_to_the_dlq_topic_and_redriven(
    kafka_pg: Container, topics: Topics, tmp_path: Path
) -> None:
    container = kafka_pg
    events = await write(container, aggregates=60, updates=3)
    poison = next(e for e in events if e.aggregate_id == "Item/agg-0007" and e.seq == 2)
    after_poison = [
        e for e in events if e.stream == poison.stream and e.seq > poison.seq
    ]
    await publish(container.bus, events)

    faulty = Faulty(GraphProjection(container.graph), event_id=poison.event_id)
    consumer = container.consumer(
        faulty
    )  # wired like production: status, dead-letter copy
    member = join(container, consumer)
    try:
        everything_else = (
            {e.event_id for e in events}
            - {poison.event_id}
            - {e.event_id for e in after_poison}
        )

        async def flowed() -> bool:
            letters = await container.consumer_state.dead_letters("graph")
            return bool(letters) and everything_else <= set(
                await tracked_ids(container, "graph")
            )

        await wait_until(
            flowed,
            within=45,
            what="the poison to be dead-lettered and the rest applied",
            interval=0.1,
        )
        [letter] = await container.consumer_state.dead_letters("graph")
        assert letter.event.event_id == poison.event_id
        assert (letter.error_type, letter.attempts) == (
            "RetriableFault",
            container.settings.retry_attempts,
        )
        assert "injected fault" in letter.error
        # Retried with backoff before it was dead-lettered: growing gaps.
        attempts = container.settings.retry_attempts
        gaps = [
            b - a
            for a, b in zip(
                faulty.attempts[-attempts:],
                faulty.attempts[-attempts + 1 :],
                strict=False,
            )
        ]
        policy = container.retry_policy()
        assert all(gap >= 0.8 * policy.delay(i) for i, gap in enumerate(gaps)), gaps
        # Later events of the same aggregate wait; the aggregate stays at seq 1.
        assert await container.consumer_state.parked_streams("graph") == [poison.stream]
        node = (await container.graph.get_many(main_scope(), ["Item"], ["agg-0007"]))[
            "agg-0007"
        ]
        assert node.seq == 1
        status = await container.status.status(poison.command_id)
        assert status is not None
        assert status.state == "FAILED", status

        dlq = await read_topic(topics.bootstrap, topics.dead_letters)
        assert [r.headers["event_id"].decode() for r in dlq] == [poison.event_id]
        headers = dlq[0].headers
        assert headers["error_class"] == b"RetriableFault"
        assert b"injected fault" in headers["error_message"]
        assert headers["consumer"] == b"graph"
        assert headers["attempts"] == str(container.settings.retry_attempts).encode()
        assert dlq[0].envelope == poison

        # The fix is deployed; an operator re-drives the dead letter.
        faulty.failures_left = 0
        assert await container.consumer_state.request_redrive(letter.id)
        await wait_for_checkpoint(container, ("graph",), events[-1].position)
    finally:
        await member.halt()

    assert [d.status for d in await container.consumer_state.dead_letters("graph")] == [
        "redriven"
    ]
    assert await container.consumer_state.parked_streams("graph") == []
    node = (await container.graph.get_many(main_scope(), ["Item"], ["agg-0007"]))[
        "agg-0007"
    ]
    assert node.seq == 4
    graph_hash, _ = await clean_run_hashes(container, events, tmp_path)
    assert await container.graph.content_hash(DB) == graph_hash
    await check_tracked_once(container, "graph", events)
