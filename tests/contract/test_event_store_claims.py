"""EventStore contract, unique claims: settled with the events in one
transaction, per branch (the parent's as of the fork), race-free; and the
quiet_since guard."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from domain.claims import Claim
from domain.errors import ClaimTaken, ConcurrencyConflict
from domain.events import INSTANCE, MAIN_BRANCH, StreamId
from domain.ports import AppendResult, CommandBatch, EventStore
from tests.contract.test_event_store import all_events, fork, on
from tests.factories import command_batch, stream_append, stream_id

DB = "shop"
SCOPE = "unique:Thing.email"


def take(holder: StreamId, key: str = "a") -> Claim:
    return Claim(SCOPE, key, holder.aggregate_id, take=True)


def release(holder: StreamId, key: str = "a") -> Claim:
    return Claim(SCOPE, key, holder.aggregate_id, take=False)


def claiming(
    stream: StreamId, *claims: Claim, expected_seq: int = 0, **more: object
) -> CommandBatch:
    batch = command_batch(stream_append(stream, expected_seq=expected_seq))
    return dataclasses.replace(batch, claims=claims, **more)  # type: ignore[arg-type]


async def holders(
    store: EventStore, *keys: str, branch: str = MAIN_BRANCH
) -> dict[str, str]:
    found = await store.claim_holders(DB, branch, [(SCOPE, k) for k in keys])
    return {key: holder for (_, key), holder in found.items()}


async def test_a_take_holds_the_key_for_the_holder(event_store: EventStore) -> None:
    one = stream_id(db=DB)

    await event_store.append(claiming(one, take(one, "a")))

    assert await holders(event_store, "a", "b") == {"a": one.aggregate_id}


async def test_a_take_of_a_held_key_fails_the_whole_batch(
    event_store: EventStore,
) -> None:
    one, two = stream_id(db=DB), stream_id(db=DB)
    await event_store.append(claiming(one, take(one, "a")))

    with pytest.raises(ClaimTaken) as failure:
        await event_store.append(claiming(two, take(two, "b"), take(two, "a")))

    [taken] = failure.value.taken
    assert (taken.key, taken.claimant, taken.owner) == (
        "a",
        two.aggregate_id,
        one.aggregate_id,
    )
    assert failure.value.errors[0].code == "unique_violation"
    assert len(await all_events(event_store)) == 1
    assert await holders(event_store, "a", "b") == {"a": one.aggregate_id}


async def test_a_holder_taking_its_own_key_again_changes_nothing(
    event_store: EventStore,
) -> None:
    one = stream_id(db=DB)
    await event_store.append(claiming(one, take(one)))

    await event_store.append(claiming(one, take(one), expected_seq=1))

    assert await holders(event_store, "a") == {"a": one.aggregate_id}


async def test_only_the_holder_frees_a_key(event_store: EventStore) -> None:
    one, two = stream_id(db=DB), stream_id(db=DB)
    await event_store.append(claiming(one, take(one)))

    await event_store.append(claiming(two, release(two)))
    assert await holders(event_store, "a") == {"a": one.aggregate_id}

    await event_store.append(claiming(one, release(one), expected_seq=1))
    assert await holders(event_store, "a") == {}
    await event_store.append(claiming(two, take(two), expected_seq=1))
    assert await holders(event_store, "a") == {"a": two.aggregate_id}


async def test_a_batch_may_hand_a_key_from_one_holder_to_another(
    event_store: EventStore,
) -> None:
    one, two = stream_id(db=DB), stream_id(db=DB)
    await event_store.append(claiming(one, take(one, "a")))
    await event_store.append(claiming(two, take(two, "b")))
    swap = command_batch(
        stream_append(one, expected_seq=1), stream_append(two, expected_seq=1)
    )
    claims = (take(one, "b"), release(one, "a"), take(two, "a"), release(two, "b"))

    await event_store.append(dataclasses.replace(swap, claims=claims))

    assert await holders(event_store, "a", "b") == {
        "a": two.aggregate_id,
        "b": one.aggregate_id,
    }


async def test_a_retried_batch_claims_once(event_store: EventStore) -> None:
    one = stream_id(db=DB)
    batch = claiming(one, take(one))
    await event_store.append(batch)

    again = await event_store.append(batch)

    assert again.duplicate is True
    assert await holders(event_store, "a") == {"a": one.aggregate_id}


async def test_a_branch_sees_the_parent_claims_as_of_its_fork(
    event_store: EventStore,
) -> None:
    one, two, three = (stream_id(db=DB) for _ in range(3))
    await event_store.append(claiming(one, take(one, "a")))
    await fork(event_store, "dev")
    await event_store.append(claiming(one, release(one, "a"), expected_seq=1))
    await event_store.append(claiming(two, take(two, "b")))  # main, after the fork

    assert await holders(event_store, "a", "b", branch="dev") == {"a": one.aggregate_id}
    with pytest.raises(ClaimTaken):
        await event_store.append(claiming(on(three, "dev"), take(three, "a")))
    await event_store.append(claiming(on(three, "dev"), take(three, "b")))
    assert await holders(event_store, "b") == {"b": two.aggregate_id}


async def test_a_key_freed_on_a_branch_is_freed_only_there(
    event_store: EventStore,
) -> None:
    one, two = stream_id(db=DB), stream_id(db=DB)
    await event_store.append(claiming(one, take(one)))
    await fork(event_store, "dev")

    await event_store.append(claiming(on(one, "dev"), release(one), expected_seq=1))
    await event_store.append(claiming(on(two, "dev"), take(two)))

    assert await holders(event_store, "a", branch="dev") == {"a": two.aggregate_id}
    assert await holders(event_store, "a") == {"a": one.aggregate_id}
    with pytest.raises(ClaimTaken):
        await event_store.append(claiming(two, take(two)))


async def test_concurrent_batches_of_one_store_taking_a_key_one_wins(
    event_store: EventStore,
) -> None:
    streams = [stream_id(db=DB) for _ in range(6)]

    outcomes = await asyncio.gather(
        *(event_store.append(claiming(s, take(s))) for s in streams),
        return_exceptions=True,
    )

    assert_one_winner(outcomes)
    winner = streams[
        next(i for i, o in enumerate(outcomes) if isinstance(o, AppendResult))
    ]
    assert await holders(event_store, "a") == {"a": winner.aggregate_id}


async def test_concurrent_batches_of_two_stores_taking_a_key_one_wins(
    event_store: EventStore, other_event_store: EventStore
) -> None:
    stores = [event_store, other_event_store]
    for attempt in range(3):  # each round races on a fresh key
        key = f"k{attempt}"
        streams = [stream_id(db=DB) for _ in range(6)]

        outcomes = await asyncio.gather(
            *(
                stores[i % 2].append(claiming(s, take(s, key)))
                for i, s in enumerate(streams)
            ),
            return_exceptions=True,
        )

        assert_one_winner(outcomes)
        assert len(await holders(other_event_store, key)) == 1


def assert_one_winner(outcomes: list[AppendResult | BaseException]) -> None:
    won = [o for o in outcomes if isinstance(o, AppendResult)]
    lost = [o for o in outcomes if not isinstance(o, AppendResult)]
    assert len(won) == 1, outcomes
    assert all(isinstance(o, ClaimTaken) for o in lost), lost


async def test_quiet_since_refuses_a_batch_after_newer_events_of_the_type(
    event_store: EventStore,
) -> None:
    read_at = (await event_store.last_positions()).get(DB, 0)
    await event_store.append(command_batch(stream_append(stream_id(db=DB))))
    await fork(event_store, "dev")
    guarded = StreamId(DB, MAIN_BRANCH, "class", "Thing")

    with pytest.raises(ConcurrencyConflict):
        await event_store.append(claiming(guarded, quiet_since={INSTANCE: read_at}))

    moved = (await event_store.last_positions())[DB]
    await event_store.append(
        claiming(on(stream_id(db=DB), "dev"))  # another branch's write does not count
    )
    await event_store.append(claiming(guarded, quiet_since={INSTANCE: moved}))
