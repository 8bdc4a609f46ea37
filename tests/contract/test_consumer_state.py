"""ConsumerState contract: processed ids, stream versions, parked events,
checkpoints over the gapless prefix, dead letters and their redrive states."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from adapters.errors import StoreUnavailable
from adapters.sql_engine import SqlDatabase
from adapters.tracking.sql import SqlConsumerState
from domain.events import EventEnvelope
from projections.base import ConsumerState
from tests.factories import envelope, stream_id

CONSUMER = "graph"
DB = "shop"


async def processed_at(state: ConsumerState, *positions: int, db: str = DB) -> None:
    events = [envelope(stream=stream_id(db=db), position=p) for p in positions]
    await state.record(CONSUMER, events, [])


# --- processed ids and versions ---------------------------------------------------


async def test_remembers_processed_event_ids_per_consumer(
    consumer_state: ConsumerState,
) -> None:
    first, second, unseen = envelope(), envelope(position=2), envelope(position=3)

    await consumer_state.record(CONSUMER, [first, second], [])

    asked = [first.event_id, second.event_id, unseen.event_id]
    assert await consumer_state.processed_ids(CONSUMER, asked) == {
        first.event_id,
        second.event_id,
    }
    assert await consumer_state.processed_ids("search", asked) == set()
    assert await consumer_state.processed_ids(CONSUMER, []) == set()


async def test_recording_an_event_twice_is_harmless(
    consumer_state: ConsumerState,
) -> None:
    event = envelope()
    await consumer_state.record(CONSUMER, [event], [event])

    await consumer_state.record(CONSUMER, [event], [event])

    assert await consumer_state.processed_ids(CONSUMER, [event.event_id]) == {
        event.event_id
    }
    assert await consumer_state.versions(CONSUMER, [event.stream]) == {event.stream: 1}


async def test_stream_versions_only_move_up(consumer_state: ConsumerState) -> None:
    stream, other, unknown = stream_id(), stream_id(), stream_id()
    at = {seq: envelope(stream=stream, seq=seq, position=seq) for seq in (1, 2, 3, 5)}
    await consumer_state.record(CONSUMER, [], [at[2], at[3], at[1]])
    await consumer_state.record(CONSUMER, [], [envelope(stream=other, seq=4)])

    await consumer_state.record(CONSUMER, [], [at[2]])
    lowered = await consumer_state.versions(CONSUMER, [stream, other, unknown])
    await consumer_state.record(CONSUMER, [], [at[5]])
    raised = await consumer_state.versions(CONSUMER, [stream])

    assert lowered == {stream: 3, other: 4}
    assert raised == {stream: 5}
    assert await consumer_state.versions("search", [stream]) == {}


async def test_versions_are_per_branch(consumer_state: ConsumerState) -> None:
    main = stream_id(aggregate_id="Thing/a")
    dev = stream_id(branch="dev", aggregate_id="Thing/a")

    await consumer_state.record(CONSUMER, [], [envelope(stream=dev, seq=3)])

    assert await consumer_state.versions(CONSUMER, [main, dev]) == {dev: 3}


async def test_answers_for_many_ids_and_streams(consumer_state: ConsumerState) -> None:
    events = [envelope(seq=2, position=i) for i in range(1, 451)]
    await consumer_state.record(CONSUMER, events, events)

    processed = await consumer_state.processed_ids(
        CONSUMER, [e.event_id for e in events]
    )
    versions = await consumer_state.versions(CONSUMER, [e.stream for e in events])

    assert processed == {e.event_id for e in events}
    assert versions == {e.stream: 2 for e in events}


# --- parking -------------------------------------------------------------------


async def test_returns_parked_events_of_a_stream_in_seq_order(
    consumer_state: ConsumerState,
) -> None:
    stream, other = stream_id(), stream_id()
    later, earlier = envelope(stream=stream, seq=4), envelope(stream=stream, seq=3)
    await consumer_state.park(CONSUMER, later)
    await consumer_state.park(CONSUMER, earlier)
    await consumer_state.park(CONSUMER, earlier)
    await consumer_state.park(CONSUMER, envelope(stream=other, seq=2))

    assert await consumer_state.parked(CONSUMER, stream) == [earlier, later]
    assert await consumer_state.parked("search", stream) == []
    assert sorted(await consumer_state.parked_streams(CONSUMER)) == sorted(
        [stream, other]
    )


async def test_unparked_events_are_gone(consumer_state: ConsumerState) -> None:
    stream, other = stream_id(), stream_id()
    first, second = envelope(stream=stream, seq=3), envelope(stream=stream, seq=4)
    third = envelope(stream=other, seq=2)
    for event in (first, second, third):
        await consumer_state.park(CONSUMER, event)

    await consumer_state.unpark(CONSUMER, [first.event_id, third.event_id])

    assert await consumer_state.parked(CONSUMER, stream) == [second]
    assert await consumer_state.parked_streams(CONSUMER) == [stream]
    await consumer_state.unpark(CONSUMER, [second.event_id])
    assert await consumer_state.parked_streams(CONSUMER) == []


# --- checkpoints -----------------------------------------------------------------


async def test_advances_the_checkpoint_over_the_gapless_prefix(
    consumer_state: ConsumerState,
) -> None:
    await processed_at(consumer_state, 1, 2, 3, 5, 6)

    assert await consumer_state.advance_checkpoint(CONSUMER, DB, 0) == 3
    assert await consumer_state.checkpoints(CONSUMER) == {DB: 3}


async def test_a_filled_hole_lets_the_checkpoint_move_on(
    consumer_state: ConsumerState,
) -> None:
    await processed_at(consumer_state, 1, 2, 4, 5)
    assert await consumer_state.advance_checkpoint(CONSUMER, DB, 0) == 2

    await processed_at(consumer_state, 3)

    assert await consumer_state.advance_checkpoint(CONSUMER, DB, 2) == 5
    assert await consumer_state.checkpoints(CONSUMER) == {DB: 5}


async def test_record_advances_checkpoints_in_the_same_call(
    consumer_state: ConsumerState,
) -> None:
    await processed_at(consumer_state, 1, 2, 4)
    third = envelope(stream=stream_id(db=DB), position=3)
    elsewhere = envelope(stream=stream_id(db="other"), position=2)

    advanced = await consumer_state.record(
        CONSUMER, [third, elsewhere], [third], advance={DB: 0, "other": 0}
    )

    assert advanced == {DB: 4, "other": 0}
    assert await consumer_state.checkpoints(CONSUMER) == {DB: 4}
    assert await consumer_state.versions(CONSUMER, [third.stream]) == {third.stream: 1}


async def test_a_hole_at_the_start_keeps_the_checkpoint(
    consumer_state: ConsumerState,
) -> None:
    await processed_at(consumer_state, 2, 3)

    assert await consumer_state.advance_checkpoint(CONSUMER, DB, 0) == 0
    assert await consumer_state.checkpoints(CONSUMER) == {}


async def test_checkpoints_are_per_database_and_consumer(
    consumer_state: ConsumerState,
) -> None:
    await processed_at(consumer_state, 1, 2)
    await processed_at(consumer_state, 1, db="other")

    assert await consumer_state.advance_checkpoint(CONSUMER, DB, 0) == 2
    assert await consumer_state.advance_checkpoint(CONSUMER, "other", 0) == 1
    assert await consumer_state.checkpoints(CONSUMER) == {DB: 2, "other": 1}
    assert await consumer_state.advance_checkpoint("search", DB, 0) == 0
    assert await consumer_state.checkpoints("search") == {}


async def test_a_stale_caller_never_moves_the_checkpoint_back(
    consumer_state: ConsumerState,
) -> None:
    await processed_at(consumer_state, 1, 2, 3)
    await consumer_state.advance_checkpoint(CONSUMER, DB, 0)

    assert await consumer_state.advance_checkpoint(CONSUMER, DB, 1) == 3
    assert await consumer_state.checkpoints(CONSUMER) == {DB: 3}


# --- dead letters -----------------------------------------------------------------


async def dead(
    state: ConsumerState, *, consumer: str = CONSUMER, position: int = 1
) -> EventEnvelope:
    event = envelope(position=position)
    await state.dead_letter(consumer, event, ValueError(f"bad {position}"), 3)
    return event


async def test_a_dead_letter_stores_the_event_and_error_and_counts_as_processed(
    consumer_state: ConsumerState,
) -> None:
    event = await dead(consumer_state)

    [letter] = await consumer_state.dead_letters(CONSUMER)

    assert letter.event == event
    assert (letter.consumer, letter.error_type, letter.error) == (
        CONSUMER,
        "ValueError",
        "bad 1",
    )
    assert (letter.attempts, letter.status) == (3, "dead")
    assert letter.created_at
    assert await consumer_state.processed_ids(CONSUMER, [event.event_id]) == {
        event.event_id
    }
    assert await consumer_state.advance_checkpoint(CONSUMER, DB, 0) == 1


async def test_redrive_moves_from_dead_to_requested_to_redriven(
    consumer_state: ConsumerState,
) -> None:
    await dead(consumer_state)
    [letter] = await consumer_state.dead_letters(CONSUMER)

    assert await consumer_state.request_redrive(letter.id) is True
    assert await consumer_state.request_redrive(letter.id) is False
    [requested] = await consumer_state.dead_letters(CONSUMER)
    await consumer_state.mark_redriven(letter.id)
    [redriven] = await consumer_state.dead_letters(CONSUMER)

    assert requested.status == "redrive_requested"
    assert redriven.status == "redriven"
    assert await consumer_state.request_redrive(letter.id) is False
    assert await consumer_state.request_redrive(letter.id + 1000) is False


async def test_dead_lettering_again_reopens_the_letter(
    consumer_state: ConsumerState,
) -> None:
    event = await dead(consumer_state)
    [letter] = await consumer_state.dead_letters(CONSUMER)
    await consumer_state.request_redrive(letter.id)
    await consumer_state.mark_redriven(letter.id)

    await consumer_state.dead_letter(CONSUMER, event, KeyError("still bad"), 2)

    [again] = await consumer_state.dead_letters(CONSUMER)
    assert (again.id, again.status, again.attempts) == (letter.id, "dead", 5)
    assert (again.error_type, again.error) == ("KeyError", "'still bad'")


@pytest.mark.parametrize(
    ("consumer", "status", "expected"),
    [
        (None, None, [("graph", 1), ("graph", 2), ("search", 3)]),
        ("graph", None, [("graph", 1), ("graph", 2)]),
        (None, "dead", [("graph", 1), ("search", 3)]),
        ("graph", "redrive_requested", [("graph", 2)]),
        ("search", "redrive_requested", []),
    ],
    ids=["all", "consumer", "status", "both", "none"],
)
async def test_filters_dead_letters_by_consumer_and_status(
    consumer_state: ConsumerState,
    consumer: str | None,
    status: str | None,
    expected: list[tuple[str, int]],
) -> None:
    await dead(consumer_state, position=1)
    await dead(consumer_state, position=2)
    await dead(consumer_state, consumer="search", position=3)
    second = (await consumer_state.dead_letters(CONSUMER))[1]
    await consumer_state.request_redrive(second.id)

    letters = await consumer_state.dead_letters(consumer, status=status)

    assert [(d.consumer, d.event.position) for d in letters] == expected


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation", ["processed_ids", "record", "park", "advance_checkpoint"]
)
async def test_translates_driver_errors_into_store_unavailable(
    unreachable_database: SqlDatabase, operation: str
) -> None:
    state = SqlConsumerState(unreachable_database)
    event = envelope()
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "processed_ids": lambda: state.processed_ids(CONSUMER, [event.event_id]),
        "record": lambda: state.record(CONSUMER, [event], [event]),
        "park": lambda: state.park(CONSUMER, event),
        "advance_checkpoint": lambda: state.advance_checkpoint(CONSUMER, DB, 0),
    }

    with pytest.raises(StoreUnavailable) as error:
        await calls[operation]()

    assert error.value.retriable is True
    assert error.value.__cause__ is not None
