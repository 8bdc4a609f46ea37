"""The class appends of a merge, and the unique keys its class changes claim."""

from __future__ import annotations

from collections.abc import Sequence

from domain import events as ev
from domain.claims import Claim
from domain.class_claims import claims_for_change
from domain.events import StreamId
from domain.merge.class_merge import ClassWrite
from domain.ports import EventStore, StreamAppend
from domain.write_model import BranchContext


def class_append(db: str, branch: str, write: ClassWrite) -> StreamAppend:
    """The write as an append to its class stream on `branch`."""
    stream = StreamId(db, branch, ev.CLASS, write.class_id)
    return StreamAppend(
        stream=stream, expected_seq=write.expected_seq, events=[write.event]
    )


async def class_claims(
    store: EventStore, ctx: BranchContext, writes: Sequence[ClassWrite]
) -> tuple[list[Claim], dict[str, int]]:
    """The claims a class command making the same change would take (a property
    made unique claims the values the target's instances hold), and the earliest
    read position they guard, as class_handlers passes them to the append."""
    claims: list[Claim] = []
    quiet: dict[str, int] = {}
    for write in writes:
        found, since = await claims_for_change(store, ctx, write.classdef)
        claims += found
        for kind, position in since.items():
            quiet[kind] = min(position, quiet.get(kind, position))
    return claims, quiet
