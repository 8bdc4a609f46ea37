"""EventStore contract: seqs, positions, optimistic concurrency, idempotency,
registry staleness, branch lineage and error translation."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapters.errors import StoreUnavailable
from adapters.event_store.sql import SqlEventStore
from adapters.sql_engine import SqlDatabase
from domain.errors import ConcurrencyConflict, IdempotencyConflict, StaleModel
from domain.events import (
    CLASS,
    CLASS_DEFINED,
    DATABASE,
    DATABASE_CREATED,
    MAIN_BRANCH,
    EventEnvelope,
    StreamId,
)
from domain.ports import AppendResult, BranchSpan, EventStore
from tests.factories import (
    branch_created_batch,
    command_batch,
    new_event,
    stream_append,
    stream_id,
    unique_id,
)

DB = "shop"


async def append_new(
    store: EventStore, stream: StreamId, count: int = 1
) -> AppendResult:
    return await store.append(command_batch(stream_append(stream, count=count)))


async def append_more(
    store: EventStore, stream: StreamId, *, expected_seq: int, count: int = 1
) -> AppendResult:
    batch = command_batch(stream_append(stream, expected_seq=expected_seq, count=count))
    return await store.append(batch)


async def append_class_event(store: EventStore, *, db: str = DB) -> AppendResult:
    stream = stream_id(db=db, aggregate_type=CLASS, aggregate_id=unique_id("Class"))
    event = new_event(event_type=CLASS_DEFINED)
    return await store.append(command_batch(stream_append(stream, events=[event])))


async def all_events(store: EventStore, db: str = DB) -> list[EventEnvelope]:
    return await store.read_positions(db, after_position=0, limit=10_000)


def seqs(events: list[EventEnvelope]) -> list[int]:
    return [e.seq for e in events]


def positions(events: list[EventEnvelope]) -> list[int]:
    return [e.position for e in events]


# --- appending --------------------------------------------------------------------


async def test_appends_to_a_new_stream_with_seqs_from_one(
    event_store: EventStore,
) -> None:
    stream = stream_id(db=DB)
    batch = command_batch(stream_append(stream, count=3), actor="ada")

    result = await event_store.append(batch)

    events = await event_store.read_stream(stream)
    assert seqs(events) == [1, 2, 3]
    assert positions(events) == [1, 2, 3]
    assert (result.first_position, result.last_position) == (1, 3)
    assert result.heads == {stream: 3}
    assert result.duplicate is False
    assert [e.data for e in events] == [e.data for e in batch.appends[0].events]
    assert {(e.command_id, e.actor, e.stream) for e in events} == {
        (batch.command_id, "ada", stream)
    }
    assert len({e.event_id for e in events}) == 3
    assert await event_store.stream_head(stream) == 3


async def test_returns_event_data_as_appended(event_store: EventStore) -> None:
    data = {
        "name": "한국어 ✓",
        "big": 2**53 + 1,
        "ratio": 0.1,
        "nothing": None,
        "flag": True,
        "nested": {"list": [1, "two", {"three": [3.5]}], "empty": {}},
    }
    stream = stream_id(db=DB)
    batch = command_batch(stream_append(stream, events=[new_event(data=data)]))

    await event_store.append(batch)

    [event] = await event_store.read_stream(stream)
    assert event.data == data
    assert (event.correlation_id, event.causation_id) == (batch.command_id, None)
    assert event.occurred_at.tzinfo is not None


async def test_allocates_gapless_positions_across_streams_of_a_database(
    event_store: EventStore,
) -> None:
    await append_new(event_store, stream_id(db=DB), count=2)
    second = await append_new(event_store, stream_id(db=DB), count=3)
    await append_new(event_store, stream_id(db="other"), count=1)

    assert (second.first_position, second.last_position) == (3, 5)
    assert positions(await all_events(event_store)) == [1, 2, 3, 4, 5]
    assert positions(await all_events(event_store, "other")) == [1]
    assert await event_store.last_positions() == {DB: 5, "other": 1}


@pytest.mark.parametrize("expected_seq", [1, 3], ids=["behind", "ahead"])
async def test_rejects_stale_expected_seq(
    event_store: EventStore, expected_seq: int
) -> None:
    stream = stream_id(db=DB)
    await append_new(event_store, stream, count=2)

    with pytest.raises(ConcurrencyConflict) as conflict:
        await append_more(event_store, stream, expected_seq=expected_seq)

    assert (conflict.value.expected, conflict.value.actual) == (expected_seq, 2)
    assert conflict.value.aggregate_id == stream.aggregate_id
    assert seqs(await event_store.read_stream(stream)) == [1, 2]
    assert await event_store.last_positions() == {DB: 2}


async def test_rejects_expected_zero_on_an_existing_stream(
    event_store: EventStore,
) -> None:
    stream = stream_id(db=DB)
    await append_new(event_store, stream)

    with pytest.raises(ConcurrencyConflict) as conflict:
        await append_new(event_store, stream)

    assert conflict.value.actual == 1
    assert seqs(await event_store.read_stream(stream)) == [1]


async def test_appends_every_stream_of_a_batch_with_consecutive_positions(
    event_store: EventStore,
) -> None:
    first, second = stream_id(db=DB), stream_id(db=DB)
    await append_new(event_store, first)
    batch = command_batch(
        stream_append(first, expected_seq=1, count=2), stream_append(second, count=1)
    )

    result = await event_store.append(batch)

    assert (result.first_position, result.last_position) == (2, 4)
    assert result.heads == {first: 3, second: 1}
    assert seqs(await event_store.read_stream(first)) == [1, 2, 3]
    assert positions(await event_store.read_stream(second)) == [4]
    assert (await event_store.append(batch)).heads == result.heads


async def test_writes_nothing_of_a_batch_when_one_stream_is_stale(
    event_store: EventStore,
) -> None:
    fresh, taken = stream_id(db=DB), stream_id(db=DB)
    await append_new(event_store, taken)
    batch = command_batch(stream_append(fresh, count=2), stream_append(taken))

    with pytest.raises(ConcurrencyConflict):
        await event_store.append(batch)

    assert await event_store.read_stream(fresh) == []
    assert seqs(await event_store.read_stream(taken)) == [1]
    assert await event_store.last_positions() == {DB: 1}
    assert await event_store.find_command(batch.command_id) is None
    # The positions the failed batch would have used are still free.
    assert (await append_new(event_store, fresh)).first_position == 2


# --- idempotency -----------------------------------------------------------------


async def test_absorbs_an_identical_retry_as_duplicate(event_store: EventStore) -> None:
    stream = stream_id(db=DB)
    batch = command_batch(stream_append(stream, count=2))
    first = await event_store.append(batch)

    retry = await event_store.append(batch)

    assert retry.duplicate is True
    assert (retry.first_position, retry.last_position) == (1, 2)
    assert (retry.command_id, retry.db, retry.heads) == (
        first.command_id,
        first.db,
        first.heads,
    )
    assert len(await all_events(event_store)) == 2


async def test_absorbs_a_retry_after_another_writer_moved_the_stream(
    event_store: EventStore,
) -> None:
    stream = stream_id(db=DB)
    batch = command_batch(stream_append(stream))
    await event_store.append(batch)
    await append_more(event_store, stream, expected_seq=1)

    retry = await event_store.append(batch)

    assert retry.duplicate is True
    assert (retry.first_position, retry.heads) == (1, {stream: 1})
    assert seqs(await event_store.read_stream(stream)) == [1, 2]


async def test_absorbs_a_retry_even_after_the_registry_moved(
    event_store: EventStore,
) -> None:
    batch = command_batch(stream_append(stream_id(db=DB)), registry_version=0)
    await event_store.append(batch)
    await append_class_event(event_store)

    retry = await event_store.append(batch)

    assert (retry.duplicate, retry.first_position) == (True, 1)


@pytest.mark.parametrize("two_stores", [False, True], ids=["one store", "two stores"])
async def test_absorbs_an_identical_retry_racing_the_original(
    event_store: EventStore, other_event_store: EventStore, two_stores: bool
) -> None:
    stream = stream_id(db=DB)
    batch = command_batch(stream_append(stream, count=2))
    retrier = other_event_store if two_stores else event_store

    results = await asyncio.gather(event_store.append(batch), retrier.append(batch))

    assert sorted(r.duplicate for r in results) == [False, True]
    assert {(r.first_position, r.last_position) for r in results} == {(1, 2)}
    assert seqs(await event_store.read_stream(stream)) == [1, 2]


async def test_rejects_a_reused_command_id_with_another_request(
    event_store: EventStore,
) -> None:
    batch = command_batch(stream_append(stream_id(db=DB)))
    await event_store.append(batch)
    other = command_batch(
        stream_append(stream_id(db=DB)),
        command_id=batch.command_id,
        request_hash="another-request",
    )

    with pytest.raises(IdempotencyConflict) as conflict:
        await event_store.append(other)

    assert conflict.value.command_id == batch.command_id
    assert await event_store.read_stream(other.appends[0].stream) == []
    assert await event_store.last_positions() == {DB: 1}


async def test_finds_a_stored_command_with_its_result(event_store: EventStore) -> None:
    stream = stream_id(db=DB)
    batch = command_batch(stream_append(stream, count=2))
    result = await event_store.append(batch)

    stored = await event_store.find_command(batch.command_id)

    assert await event_store.find_command("never-used") is None
    assert stored is not None
    assert stored.request_hash == batch.request_hash
    assert (stored.result.command_id, stored.result.db) == (batch.command_id, DB)
    assert (stored.result.first_position, stored.result.last_position) == (1, 2)
    assert stored.result.heads == result.heads


# --- concurrency -------------------------------------------------------------------


async def append_with_retries(store: EventStore, stream: StreamId) -> AppendResult:
    """What a handler does: on a conflict, retry from the actual head."""
    expected = 0
    while True:
        try:
            return await append_more(store, stream, expected_seq=expected, count=2)
        except ConcurrencyConflict as conflict:
            expected = conflict.actual


def assert_gapless(events: list[EventEnvelope], *, count: int) -> None:
    assert positions(events) == list(range(1, count + 1))
    assert len({e.event_id for e in events}) == count
    by_stream: dict[StreamId, list[int]] = defaultdict(list)
    for event in events:
        by_stream[event.stream].append(event.seq)
    for stream_seqs in by_stream.values():
        assert stream_seqs == list(range(1, len(stream_seqs) + 1))


async def test_concurrent_appends_get_unique_gapless_positions_and_seqs(
    event_store: EventStore,
) -> None:
    streams = [stream_id(db=DB) for _ in range(5)]

    results = await asyncio.gather(
        *(append_with_retries(event_store, streams[i % 5]) for i in range(50))
    )

    assert_gapless(await all_events(event_store), count=100)
    assert sorted(r.first_position for r in results) == list(range(1, 101, 2))
    for stream in streams:
        assert await event_store.stream_head(stream) == 20


async def test_concurrent_appends_from_two_stores_stay_gapless(
    event_store: EventStore, other_event_store: EventStore
) -> None:
    streams = [stream_id(db=DB) for _ in range(3)]
    stores = [event_store, other_event_store]

    await asyncio.gather(
        *(append_with_retries(stores[i % 2], streams[i % 3]) for i in range(24))
    )

    assert_gapless(await all_events(other_event_store), count=48)
    assert await event_store.last_positions() == {DB: 48}


async def test_decides_concurrent_batches_each_on_its_own(
    event_store: EventStore,
) -> None:
    taken = stream_id(db=DB)
    await append_new(event_store, taken)
    batches = [
        command_batch(stream_append(stream_id(db=DB))),
        command_batch(stream_append(taken)),  # stale: expects a new stream
        command_batch(stream_append(stream_id(db=DB))),
        command_batch(stream_append(stream_id(db="other"))),
    ]

    outcomes = await asyncio.gather(
        *(event_store.append(b) for b in batches), return_exceptions=True
    )

    assert isinstance(outcomes[1], ConcurrencyConflict)
    accepted = [o for i, o in enumerate(outcomes) if i != 1]
    assert all(isinstance(o, AppendResult) for o in accepted)
    assert positions(await all_events(event_store)) == [1, 2, 3]
    assert positions(await all_events(event_store, "other")) == [1]


async def test_a_batch_the_store_cannot_write_fails_alone(
    event_store: EventStore,
) -> None:
    good = command_batch(stream_append(stream_id(db=DB)))
    unwritable = new_event(data={"value": object()})  # not JSON
    bad = command_batch(stream_append(stream_id(db=DB), events=[unwritable]))

    outcomes = await asyncio.gather(
        event_store.append(bad), event_store.append(good), return_exceptions=True
    )

    assert isinstance(outcomes[0], Exception)
    assert isinstance(outcomes[1], AppendResult)
    assert [e.command_id for e in await all_events(event_store)] == [good.command_id]


# --- reads -----------------------------------------------------------------------


async def test_reads_an_unknown_stream_as_empty(event_store: EventStore) -> None:
    stream = stream_id(db=DB)

    assert await event_store.read_stream(stream) == []
    assert await event_store.stream_head(stream) == 0
    assert await event_store.last_events([stream]) == {}


async def test_reads_one_aggregate_type_in_position_order(
    event_store: EventStore,
) -> None:
    first, second = stream_id(db=DB), stream_id(db=DB)
    await append_new(event_store, first)
    await append_class_event(event_store)
    await append_new(event_store, second)
    await append_more(event_store, first, expected_seq=1)
    await append_new(event_store, stream_id(db="other"))

    events = await event_store.read_aggregate_type(
        DB, MAIN_BRANCH, first.aggregate_type
    )
    later = await event_store.read_aggregate_type(
        DB, MAIN_BRANCH, first.aggregate_type, after_position=3
    )

    assert [(e.stream, e.position) for e in events] == [
        (first, 1),
        (second, 3),
        (first, 4),
    ]
    assert positions(later) == [4]
    assert await event_store.read_aggregate_type(DB, MAIN_BRANCH, DATABASE) == []


async def test_reads_positions_of_one_database_in_pages(
    event_store: EventStore,
) -> None:
    await append_new(event_store, stream_id(db=DB), count=3)
    await append_new(event_store, stream_id(db="other"), count=2)
    await append_new(event_store, stream_id(db=DB, branch="dev"), count=2)

    page = await event_store.read_positions(DB, after_position=1, limit=3)
    rest = await event_store.read_positions(DB, after_position=4, limit=3)

    assert positions(page) == [2, 3, 4]
    assert [e.branch for e in page] == ["main", "main", "dev"]
    assert positions(rest) == [5]
    assert await event_store.read_positions(DB, after_position=5, limit=3) == []


async def test_reports_the_last_position_of_every_database(
    event_store: EventStore,
) -> None:
    assert await event_store.last_positions() == {}

    await append_new(event_store, stream_id(db=DB), count=2)
    await append_new(event_store, stream_id(db="other"), count=3)

    assert await event_store.last_positions() == {DB: 2, "other": 3}


async def test_maps_an_instant_to_the_last_position_committed_by_then(
    event_store: EventStore,
) -> None:
    before = datetime.now(UTC)
    first = await append_new(event_store, stream_id(db=DB), count=2)
    between = datetime.now(UTC)
    await append_new(event_store, stream_id(db="other"), count=5)
    second = await append_new(event_store, stream_id(db=DB))
    after = datetime.now(UTC)

    assert await event_store.position_at(DB, before - timedelta(days=1)) == 0
    assert await event_store.position_at(DB, between) == first.last_position == 2
    assert await event_store.position_at(DB, after) == second.last_position == 3
    # The same instant in another offset is the same instant.
    tokyo = between.astimezone(timezone(timedelta(hours=9)))
    assert await event_store.position_at(DB, tokyo) == 2
    assert await event_store.position_at("other", between) == 0


async def test_returns_the_last_event_of_each_stream(event_store: EventStore) -> None:
    first, second, empty = stream_id(db=DB), stream_id(db=DB), stream_id(db=DB)
    await append_new(event_store, first, count=3)
    await append_new(event_store, second)

    last = await event_store.last_events([first, second, empty])

    assert set(last) == {first, second}
    assert (last[first].seq, last[first].position) == (3, 3)
    assert (last[second].seq, last[second].position) == (1, 4)
    assert last[first] == (await event_store.read_stream(first))[-1]


async def test_reads_heads_and_last_events_of_many_streams(
    event_store: EventStore,
) -> None:
    streams = [stream_id(db=DB, aggregate_id=f"Thing/{i:04}") for i in range(600)]
    await event_store.append(command_batch(*(stream_append(s) for s in streams)))
    await append_more(event_store, streams[-1], expected_seq=1)

    last = await event_store.last_events(streams)

    assert len(last) == 600
    assert {e.stream for e in last.values()} == set(streams)
    assert last[streams[-1]].seq == 2
    assert all(last[s].seq == 1 for s in streams[:-1])


async def test_registry_version_moves_with_database_branch_and_class_events(
    event_store: EventStore,
) -> None:
    assert await event_store.registry_version(DB) == 0
    database = stream_id(db=DB, aggregate_type=DATABASE, aggregate_id=DB)
    created = new_event(event_type=DATABASE_CREATED)
    await event_store.append(command_batch(stream_append(database, events=[created])))
    await append_new(event_store, stream_id(db=DB))
    assert await event_store.registry_version(DB) == 1

    defined = await append_class_event(event_store)
    await append_new(event_store, stream_id(db=DB))
    assert await event_store.registry_version(DB) == defined.last_position == 3

    branched = await event_store.append(
        branch_created_batch(db=DB, name="dev", fork_position=4)
    )
    assert await event_store.registry_version(DB) == branched.last_position == 5
    assert await event_store.registry_version("other") == 0


async def test_rejects_an_append_validated_against_a_stale_registry(
    event_store: EventStore,
) -> None:
    await append_class_event(event_store)
    stream = stream_id(db=DB)
    stale = command_batch(stream_append(stream), registry_version=0)

    with pytest.raises(StaleModel) as error:
        await event_store.append(stale)

    assert error.value.db == DB
    assert await event_store.read_stream(stream) == []
    assert await event_store.find_command(stale.command_id) is None
    current = command_batch(stream_append(stream), registry_version=1)
    assert (await event_store.append(current)).first_position == 2


async def test_sees_a_registry_change_of_a_concurrent_batch(
    event_store: EventStore,
) -> None:
    class_stream = stream_id(db=DB, aggregate_type=CLASS, aggregate_id="Person")
    defined = new_event(event_type=CLASS_DEFINED)
    change = command_batch(
        stream_append(class_stream, events=[defined]), registry_version=0
    )
    validated_before = command_batch(
        stream_append(stream_id(db=DB)), registry_version=0
    )

    outcomes = await asyncio.gather(
        event_store.append(change),
        event_store.append(validated_before),
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], AppendResult)
    assert isinstance(outcomes[1], StaleModel)
    assert await event_store.last_positions() == {DB: 1}


async def test_tells_whether_instances_with_an_id_prefix_exist(
    event_store: EventStore,
) -> None:
    await append_new(event_store, stream_id(db=DB, aggregate_id="Person/ada"))

    assert await event_store.has_instances(DB, MAIN_BRANCH, "Person/") is True
    assert await event_store.has_instances(DB, MAIN_BRANCH, "Robot/") is False
    assert await event_store.has_instances("other", MAIN_BRANCH, "Person/") is False
    # LIKE wildcards in the prefix are taken literally.
    assert await event_store.has_instances(DB, MAIN_BRANCH, "Pers_n/") is False
    assert await event_store.has_instances(DB, MAIN_BRANCH, "%") is False


# --- branches -----------------------------------------------------------------------


async def fork(store: EventStore, name: str, *, parent: str = MAIN_BRANCH) -> int:
    """Creates a branch at the database's current head; returns the fork position."""
    fork_position = (await store.last_positions()).get(DB, 0)
    batch = branch_created_batch(
        db=DB, name=name, parent=parent, fork_position=fork_position
    )
    await store.append(batch)
    return fork_position


def on(stream: StreamId, branch: str) -> StreamId:
    return StreamId(stream.db, branch, stream.aggregate_type, stream.aggregate_id)


async def test_a_branch_stream_continues_the_parent_seq_as_of_the_fork(
    event_store: EventStore,
) -> None:
    stream = stream_id(db=DB)
    await append_new(event_store, stream, count=2)
    await fork(event_store, "dev")
    await append_more(event_store, stream, expected_seq=2)  # on main, after the fork
    dev = on(stream, "dev")

    assert await event_store.stream_head(dev) == 2
    with pytest.raises(ConcurrencyConflict) as conflict:
        await append_new(event_store, dev)
    assert conflict.value.actual == 2
    result = await append_more(event_store, dev, expected_seq=2)

    assert result.heads == {dev: 3}
    events = await event_store.read_stream(dev)
    assert [(e.branch, e.seq) for e in events] == [("main", 1), ("main", 2), ("dev", 3)]


async def test_writes_on_a_branch_never_change_the_parent(
    event_store: EventStore,
) -> None:
    stream = stream_id(db=DB)
    await append_new(event_store, stream)
    await fork(event_store, "dev")
    before = await event_store.read_stream(stream)

    await append_more(event_store, on(stream, "dev"), expected_seq=1, count=2)
    await append_new(event_store, stream_id(db=DB, branch="dev"))

    assert await event_store.read_stream(stream) == before
    assert await event_store.stream_head(stream) == 1
    assert (
        await event_store.read_aggregate_type(DB, MAIN_BRANCH, stream.aggregate_type)
        == before
    )
    assert await event_store.has_instances(DB, MAIN_BRANCH, "Thing/") is True
    assert (await append_more(event_store, stream, expected_seq=1)).heads == {stream: 2}


async def test_parent_events_after_the_fork_are_invisible_on_the_branch(
    event_store: EventStore,
) -> None:
    stream = stream_id(db=DB)
    await append_new(event_store, stream)
    await fork(event_store, "dev")
    await append_more(event_store, stream, expected_seq=1)
    late = stream_id(db=DB, aggregate_id="Late/one")
    await append_new(event_store, late)
    dev = on(stream, "dev")

    assert seqs(await event_store.read_stream(dev)) == [1]
    assert (await event_store.last_events([dev]))[dev].seq == 1
    dev_events = await event_store.read_aggregate_type(DB, "dev", stream.aggregate_type)
    assert [e.stream for e in dev_events] == [stream]
    assert await event_store.has_instances(DB, "dev", "Late/") is False
    assert (await append_new(event_store, on(late, "dev"))).heads == {
        on(late, "dev"): 1
    }


async def test_a_nested_branch_sees_each_ancestor_up_to_its_fork(
    event_store: EventStore,
) -> None:
    stream = stream_id(db=DB)
    await append_new(event_store, stream)
    dev_fork = await fork(event_store, "dev")
    await append_more(event_store, stream, expected_seq=1)  # main only
    await append_more(event_store, on(stream, "dev"), expected_seq=1)  # dev seq 2
    feature_fork = await fork(event_store, "feature", parent="dev")
    await append_more(event_store, on(stream, "dev"), expected_seq=2)  # dev only

    lineage = await event_store.lineage(DB, "feature")
    events = await event_store.read_stream(on(stream, "feature"))

    assert lineage == [
        BranchSpan(branch="feature", until_position=None),
        BranchSpan(branch="dev", until_position=feature_fork),
        BranchSpan(branch="main", until_position=dev_fork),
    ]
    assert [(e.branch, e.seq) for e in events] == [("main", 1), ("dev", 2)]
    assert await event_store.lineage(DB, MAIN_BRANCH) == [
        BranchSpan(branch=MAIN_BRANCH, until_position=None)
    ]


async def test_a_fork_at_an_earlier_position_limits_every_ancestor(
    event_store: EventStore,
) -> None:
    stream = stream_id(db=DB)
    await append_new(event_store, stream, count=2)
    await fork(event_store, "dev")
    batch = branch_created_batch(db=DB, name="old", parent="dev", fork_position=1)
    await event_store.append(batch)

    assert await event_store.stream_head(on(stream, "old")) == 1
    assert (await event_store.lineage(DB, "old"))[-1] == BranchSpan(
        branch=MAIN_BRANCH, until_position=1
    )


async def test_a_store_sees_a_branch_created_through_another_store(
    event_store: EventStore, other_event_store: EventStore
) -> None:
    stream = stream_id(db=DB)
    await append_new(event_store, stream)
    await event_store.lineage(DB, "dev")  # before the branch exists
    await fork(other_event_store, "dev")
    await append_more(other_event_store, stream, expected_seq=1)

    assert await event_store.stream_head(on(stream, "dev")) == 1


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["append", "read_stream", "last_positions"])
async def test_translates_driver_errors_into_store_unavailable(
    unreachable_database: SqlDatabase, operation: str
) -> None:
    store = SqlEventStore(unreachable_database)
    stream = stream_id(db=DB)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "append": lambda: store.append(command_batch(stream_append(stream))),
        "read_stream": lambda: store.read_stream(stream),
        "last_positions": store.last_positions,
    }

    with pytest.raises(StoreUnavailable) as error:
        await calls[operation]()

    assert error.value.retriable is True
    assert error.value.__cause__ is not None
