"""EventStore contract, reads for diffs and merges: the streams a branch changed
within a window of positions, and stream tips as of a position."""

from __future__ import annotations

from domain.events import INSTANCE, MAIN_BRANCH, StreamId
from domain.ports import EventStore
from tests.factories import branch_created_batch, command_batch, stream_append

DB = "shop"


def thing(name: str, branch: str = MAIN_BRANCH) -> StreamId:
    return StreamId(DB, branch, INSTANCE, f"Thing/{name}")


async def write(store: EventStore, stream: StreamId) -> int:
    """One event on the stream; returns its position."""
    expected = await store.stream_head(stream)
    result = await store.append(
        command_batch(stream_append(stream, expected_seq=expected))
    )
    return result.last_position


async def fork(store: EventStore) -> int:
    """a and b on main, then the branch dev; returns the fork position."""
    await write(store, thing("a"))
    position = await write(store, thing("b"))
    await store.append(branch_created_batch(db=DB, name="dev", fork_position=position))
    return position


async def test_changed_streams_are_those_with_events_in_the_window(
    event_store: EventStore,
) -> None:
    forked = await fork(event_store)
    first = await write(event_store, thing("c", "dev"))
    await write(event_store, thing("a", "dev"))
    await write(event_store, thing("b"))  # on main after the fork: not on dev
    last = await write(event_store, thing("c", "dev"))

    async def changed(after: int, until: int) -> list[str]:
        return await event_store.changed_streams(
            DB, "dev", INSTANCE, after_position=after, until_position=until
        )

    assert await changed(forked, last) == ["Thing/a", "Thing/c"]
    assert await changed(first, last) == ["Thing/a", "Thing/c"]
    assert await changed(forked, first) == ["Thing/c"]
    assert await changed(0, forked) == ["Thing/a", "Thing/b"]  # main, as dev sees it
    assert await changed(last, last + 10) == []


async def test_last_events_as_of_a_position_are_the_tips_then(
    event_store: EventStore,
) -> None:
    forked = await fork(event_store)
    later = await write(event_store, thing("a", "dev"))
    await write(event_store, thing("a", "dev"))
    streams = [thing("a", "dev"), thing("b", "dev"), thing("z", "dev")]

    at_fork = await event_store.last_events(streams, as_of=forked)
    at_later = await event_store.last_events(streams, as_of=later)
    now = await event_store.last_events(streams)

    assert {s.aggregate_id: e.seq for s, e in at_fork.items()} == {
        "Thing/a": 1,
        "Thing/b": 1,
    }
    assert at_later[thing("a", "dev")].position == later
    assert now[thing("a", "dev")].seq == 3
    assert await event_store.last_events(streams, as_of=0) == {}
