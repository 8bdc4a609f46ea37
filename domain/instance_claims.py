"""Unique keys of instance writes: the claims a command's writes carry, and the
store's ClaimTaken told in the command's own terms (which input, which member)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.claims import (
    Claim,
    claims_between,
    describe,
    held_keys,
    scopes_of,
    split_scope,
)
from domain.errors import ClaimTaken, FieldError
from domain.ontology import Ontology

State = Mapping[str, Any] | None


def write_claims(
    ontology: Ontology,
    changes: Sequence[tuple[State, State]],
    holders: Sequence[str],
) -> list[Claim]:
    """What each holder gives up and takes going from its state before (None:
    new or deleted) to its state after; nothing for classes without unique
    properties or exclusive targets."""
    claimed: dict[str, bool] = {}  # bulk writes are mostly of one class
    claims: list[Claim] = []
    for (before, after), holder in zip(changes, holders, strict=True):
        class_id = str((after or before or {}).get("class_id", ""))
        if class_id not in claimed:
            claimed[class_id] = bool(scopes_of(ontology, class_id))
        if claimed[class_id]:
            claims += claims_between(
                holder, held_keys(ontology, before), held_keys(ontology, after)
            )
    return claims


def located(taken: ClaimTaken, holders: Sequence[str]) -> ClaimTaken:
    """Each taken key at the path of the input that asked for it: its member,
    under ("inputs", i) when the command wrote several instances."""
    index = {holder: i for i, holder in enumerate(holders)}
    errors = []
    for key in taken.taken:
        where = index.get(key.claimant)
        path = ("inputs", str(where)) if where is not None and len(holders) > 1 else ()
        errors.append(FieldError((*path, split_scope(key.scope)[2]), *describe(key)))
    return ClaimTaken(
        errors=errors, summary=taken.summary, code=taken.code, taken=taken.taken
    )
