"""Unique keys (domain.claims) of the objects a merge, rebase or revert writes.

Primary keys need nothing here: an object's instance id is its primary key and
names its stream, so two live objects of one class hierarchy never share one.
Unique property values and exclusive link targets are claims: the writes of a
merge carry them like any instance write, and the event store settles them in
the append, so a merge that would break one fails (ClaimTaken, a
ValidationFailed with code unique_violation) even against a racing writer.
Previews ask the store who holds the keys, for the same answer without writing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain import events as ev
from domain.claims import Claim, claims_between, describe, held_keys, settle
from domain.errors import TakenKey
from domain.events import EventEnvelope, NewEvent
from domain.merge.plan import Write
from domain.ontology import Ontology
from domain.ports import EventStore


def write_claims(
    ontology: Ontology, writes: Sequence[Write], tips: Mapping[str, EventEnvelope]
) -> list[Claim]:
    """The keys each write gives up (its object's before it) and takes."""
    return [
        claim
        for write in writes
        for claim in claims_between(
            write.key,
            held_keys(ontology, _state(tips.get(write.key))),
            held_keys(ontology, _state(write.event)),
        )
    ]


async def taken_keys(
    store: EventStore, db: str, branch: str, claims: Sequence[Claim]
) -> list[TakenKey]:
    """The keys among `claims` other objects hold on the branch now."""
    if not claims:
        return []
    keys = sorted({(claim.scope, claim.key) for claim in claims})
    holders = await store.claim_holders(db, branch, keys)
    return settle(claims, dict(holders)).taken


def taken_message(taken: Sequence[TakenKey]) -> str:
    return "; ".join(describe(t)[1] for t in taken[:5])


def _state(event: EventEnvelope | NewEvent | None) -> Mapping[str, Any] | None:
    """An instance event's data as domain.claims reads it; None when deleted."""
    if event is None or event.event_type == ev.INSTANCE_DELETED:
        return None
    return event.data
