"""Keyword-only builders for test data: defaults everywhere, unique ids by default.

Grouped by what they build: ids, event store batches, stored envelopes, read-model
rows. Add new builders to the matching group.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.events import (
    BRANCH,
    BRANCH_CREATED,
    INSTANCE,
    INSTANCE_CREATED,
    INSTANCE_UPDATED,
    MAIN_BRANCH,
    EventEnvelope,
    NewEvent,
    StreamId,
)
from domain.ports import CommandBatch, NodeVersion, SearchDocument, StreamAppend

# --- ids ------------------------------------------------------------------------


def unique_id(prefix: str = "id") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stream_id(
    *,
    db: str = "shop",
    branch: str = MAIN_BRANCH,
    aggregate_type: str = INSTANCE,
    aggregate_id: str | None = None,
) -> StreamId:
    """An instance stream (`Class/id`) with a fresh id unless one is given."""
    return StreamId(
        db, branch, aggregate_type, aggregate_id or f"Thing/{unique_id('thing')}"
    )


# --- event store batches ---------------------------------------------------------


def new_event(
    *, event_type: str = INSTANCE_UPDATED, data: Mapping[str, Any] | None = None
) -> NewEvent:
    return NewEvent(event_type=event_type, data=dict(data or {"n": unique_id("v")}))


def stream_append(
    stream: StreamId,
    *,
    expected_seq: int = 0,
    count: int = 1,
    events: Sequence[NewEvent] | None = None,
) -> StreamAppend:
    """`count` fresh events for the stream, unless `events` are given."""
    if events is None:
        first = INSTANCE_CREATED if expected_seq == 0 else INSTANCE_UPDATED
        events = [new_event(event_type=first)] + [new_event() for _ in range(count - 1)]
    return StreamAppend(stream=stream, expected_seq=expected_seq, events=events)


def command_batch(
    *appends: StreamAppend,
    command_id: str | None = None,
    request_hash: str | None = None,
    registry_version: int | None = None,
    actor: str = "tester",
) -> CommandBatch:
    """One command's batch; database and branch come from the first stream."""
    first = appends[0].stream
    command_id = command_id or unique_id("cmd")
    return CommandBatch(
        db=first.db,
        branch=first.branch,
        command_id=command_id,
        request_hash=request_hash or f"hash-{command_id}",
        actor=actor,
        correlation_id=command_id,
        registry_version=registry_version,
        appends=appends,
    )


def branch_created_batch(
    *, db: str, name: str, fork_position: int, parent: str = MAIN_BRANCH
) -> CommandBatch:
    """The `branch.created.v1` event on the branch's stream (which lives on main)."""
    stream = StreamId(db, MAIN_BRANCH, BRANCH, name)
    data = {"name": name, "parent": parent, "fork_position": fork_position}
    event = NewEvent(event_type=BRANCH_CREATED, data=data)
    return command_batch(stream_append(stream, events=[event]))


# --- stored envelopes -------------------------------------------------------------


def envelope(
    *,
    stream: StreamId | None = None,
    seq: int = 1,
    position: int = 1,
    event_id: str | None = None,
    event_type: str = INSTANCE_UPDATED,
    data: Mapping[str, Any] | None = None,
    command_id: str | None = None,
) -> EventEnvelope:
    """An event as the store would have recorded it."""
    stream = stream or stream_id()
    command_id = command_id or unique_id("cmd")
    return EventEnvelope(
        event_id=event_id or str(uuid.uuid4()),
        event_type=event_type,
        db=stream.db,
        branch=stream.branch,
        aggregate_type=stream.aggregate_type,
        aggregate_id=stream.aggregate_id,
        seq=seq,
        position=position,
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        actor="tester",
        command_id=command_id,
        correlation_id=command_id,
        causation_id=None,
        ontology_version=1,
        data=dict(data or {"seq": seq}),
    )


# --- read-model rows --------------------------------------------------------------


def node_version(
    *,
    db: str = "shop",
    branch: str = MAIN_BRANCH,
    class_id: str = "Thing",
    instance_id: str | None = None,
    seq: int = 1,
    position: int = 1,
    deleted: bool = False,
    values: Mapping[str, Any] | None = None,
    links: Mapping[str, Sequence[str]] | None = None,
) -> NodeVersion:
    return NodeVersion(
        db=db,
        branch=branch,
        class_id=class_id,
        instance_id=instance_id or unique_id("thing"),
        seq=seq,
        position=position,
        deleted=deleted,
        values=dict(values or {"seq": seq}),
        links=dict(links or {}),
    )


def search_document(
    *,
    db: str = "shop",
    branch: str = MAIN_BRANCH,
    class_id: str = "Thing",
    instance_id: str | None = None,
    seq: int = 1,
    position: int = 1,
    deleted: bool = False,
    data: Mapping[str, Any] | None = None,
) -> SearchDocument:
    return SearchDocument(
        db=db,
        branch=branch,
        class_id=class_id,
        instance_id=instance_id or unique_id("thing"),
        seq=seq,
        position=position,
        deleted=deleted,
        data=dict(data or {}),
    )


# --- generated data (hypothesis) ----------------------------------------------------

_REGEX_ATOMS = (
    "a", "b", "é", " ", "\\.", ".", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S",
    "[a-c]", "[^ab]", "[\\-x1]", "[é-ë]", "\\n", "^", "$",
)  # fmt: skip
_QUANTIFIERS = ("*", "+", "?", "{2}", "{1,3}", "{0,}")
# Values mix the atoms' characters with others; no NUL (PostgreSQL stores none).
REGEX_VALUE_ALPHABET = "abcéë .-_1x\nZ"


def regex_patterns() -> Any:
    """A strategy of patterns of the `regex` operator's subset (domain.regex)."""
    from hypothesis import strategies as st

    from domain.regex import RegexError, parse

    def extend(inner: Any) -> Any:
        return st.one_of(
            st.tuples(inner, st.sampled_from(_QUANTIFIERS)).map(
                lambda t: f"(?:{t[0]}){t[1]}"
            ),
            st.lists(inner, min_size=2, max_size=3).map("".join),
            st.lists(inner, min_size=2, max_size=3).map(
                lambda xs: "(" + "|".join(xs) + ")"
            ),
        )

    def accepted(source: str) -> bool:
        try:
            parse(source)
        except RegexError:
            return False  # e.g. a repeated anchor
        return True

    tree = st.recursive(st.sampled_from(_REGEX_ATOMS), extend, max_leaves=6)
    return tree.filter(accepted)
