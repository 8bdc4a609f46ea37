"""Unique keys instances hold: values of `unique` properties and the targets of
relationships whose target side is exclusive (1:1, 1:n).

An instance write turns into claims, the keys its holder (the instance stream)
takes and gives up; the event store settles them in the append transaction, so
of two racing writers of one key exactly one wins (see EventStore.append).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ClaimTaken, FieldError, TakenKey
from domain.ids import split_instance_aggregate_id
from domain.ontology import ClassDef, Ontology

UNIQUE = "unique"
TARGET = "target"
UNIQUE_VIOLATION = "unique_violation"
CARDINALITY_VIOLATION = "cardinality_violation"
# Longer canonical values are stored as a digest: keys stay index-sized.
_MAX_KEY = 128

Key = tuple[str, str]  # (scope, key)


@dataclass(frozen=True, slots=True, order=True)
class Claim:
    """`holder` takes (`take`) or gives up a key of a scope.

    A release changes nothing unless `holder` holds the key; a take fails when
    another holder does."""

    scope: str
    key: str
    holder: str
    take: bool


@dataclass(frozen=True, slots=True)
class Settlement:
    """The holder of each key a batch of claims changes (None: freed), or the
    keys it asked for that others hold."""

    changes: dict[Key, str | None]
    taken: list[TakenKey]


@dataclass(frozen=True, slots=True)
class _Scopes:
    """The claimed members of one class: (scope, property) and (scope, predicate)."""

    values: tuple[tuple[str, str], ...]
    targets: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, ontology: Ontology, class_id: str) -> _Scopes:
        scopes: _Scopes = ontology.memoised(
            "claim_scopes", class_id, lambda: cls._build(ontology, class_id)
        )
        return scopes

    @classmethod
    def _build(cls, ontology: Ontology, class_id: str) -> _Scopes:
        key = ontology.primary_key_of(class_id)
        lineage = ontology.lineage(class_id)
        if not lineage:  # an unknown class holds nothing
            return cls((), ())
        values = tuple(
            (scope_name(UNIQUE, _first_unique(lineage, p.name), p.name), p.name)
            # The primary key is unique by construction: it names the stream.
            for p in ontology.effective_properties(class_id)
            if p.unique and p.name != key
        )
        targets = tuple(
            (scope_name(TARGET, _first_exclusive(lineage, r.predicate), r.predicate),
             r.predicate)
            for r in ontology.effective_relationships(class_id)
            if not r.cardinality.shared_targets
        )  # fmt: skip
        return cls(values, targets)


def scope_name(kind: str, class_id: str, member: str) -> str:
    """`unique:Account.email`: class ids and member names hold neither : nor ."""
    return f"{kind}:{class_id}.{member}"


def split_scope(scope: str) -> tuple[str, str, str]:
    kind, _, rest = scope.partition(":")
    class_id, _, member = rest.partition(".")
    return kind, class_id, member


def value_key(value: object) -> str:
    """A stored (already normalised) value as a key: canonical JSON, so equal
    values give equal keys."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _fitted(text)


def _fitted(text: str) -> str:
    if len(text) <= _MAX_KEY:
        return text
    # "#" starts no JSON text and no instance id: a digest never equals a key.
    return "#sha256:" + hashlib.sha256(text.encode()).hexdigest()


def scopes_of(ontology: Ontology, class_id: str) -> tuple[str, ...]:
    """The scopes an instance of the class holds keys in."""
    scopes = _Scopes.of(ontology, class_id)
    return tuple(scope for scope, _ in (*scopes.values, *scopes.targets))


def rescoped(old: Ontology, new: Ontology, class_id: str) -> tuple[str, ...]:
    """The classes (the changed one and its subclasses) whose scopes differ
    between the ontologies: their instances' keys must be claimed again."""
    affected = sorted({*old.subclasses(class_id), *new.subclasses(class_id)})
    return tuple(k for k in affected if scopes_of(old, k) != scopes_of(new, k))


def class_change_claims(
    old: Ontology,
    new: Ontology,
    classes: Sequence[str],
    states: Iterable[tuple[str, Mapping[str, Any]]],
) -> list[Claim]:
    """What the instances (holder, state) of `classes` give up and take when
    the ontology changes from `old` to `new` (a property made unique, a
    relationship made exclusive, or either undone)."""
    wanted = set(classes)
    return [
        claim
        for holder, state in states
        if state["class_id"] in wanted
        for claim in claims_between(
            holder, held_keys(old, state), held_keys(new, state)
        )
    ]


def held_keys(ontology: Ontology, state: Mapping[str, Any] | None) -> frozenset[Key]:
    """The keys an instance in `state` (an instance event's data: class_id,
    values, links) holds under the ontology; none for no state (absent, deleted)."""
    if state is None:
        return frozenset()
    scopes = _Scopes.of(ontology, str(state["class_id"]))
    if not scopes.values and not scopes.targets:
        return frozenset()
    values: Mapping[str, Any] = state.get("values") or {}
    links: Mapping[str, Sequence[str]] = state.get("links") or {}
    held = {
        (scope, value_key(values[name]))
        for scope, name in scopes.values
        if values.get(name) is not None
    }
    held.update(
        (scope, _fitted(str(target)))
        for scope, predicate in scopes.targets
        for target in links.get(predicate) or ()
    )
    return frozenset(held)


def claims_between(
    holder: str, before: frozenset[Key], after: frozenset[Key]
) -> list[Claim]:
    """What `holder` gives up and takes going from `before` to `after`."""
    return [
        *(Claim(s, k, holder, take=False) for s, k in sorted(before - after)),
        *(Claim(s, k, holder, take=True) for s, k in sorted(after - before)),
    ]


def settle(claims: Iterable[Claim], holders: Mapping[Key, str | None]) -> Settlement:
    """Applies a batch's claims to the current `holders` (absent: free):
    releases first, so a key one instance frees another may take in the same
    batch; every take of a key another holder keeps is reported."""
    ordered = sorted(claims, key=lambda c: c.take)
    now: dict[Key, str | None] = dict(holders)
    taken: list[TakenKey] = []
    for claim in ordered:
        key = (claim.scope, claim.key)
        owner = now.get(key)
        if not claim.take:
            if owner == claim.holder:
                now[key] = None
        elif owner is None:
            now[key] = claim.holder
        elif owner != claim.holder:
            taken.append(TakenKey(claim.scope, claim.key, claim.holder, owner))
    changes = {k: v for k, v in now.items() if v != holders.get(k)}
    return Settlement(changes, taken)


def claim_taken(taken: Sequence[TakenKey]) -> ClaimTaken:
    """The error of keys already held, named by class and member."""
    errors = [
        FieldError((_class_of(t.scope), split_scope(t.scope)[2]), *describe(t))
        for t in taken
    ]
    codes = {e.code for e in errors}
    code = (
        CARDINALITY_VIOLATION if codes == {CARDINALITY_VIOLATION} else UNIQUE_VIOLATION
    )
    return ClaimTaken(errors=errors, summary=_summary(taken), code=code, taken=taken)


def describe(taken: TakenKey) -> tuple[str, str]:
    """(code, message) of one key another instance holds."""
    kind, _, member = split_scope(taken.scope)
    owner_class, owner_id = split_instance_aggregate_id(taken.owner)
    if kind == TARGET:
        message = f"{taken.key} is already linked through {member} by {owner_class} {owner_id}"
        return CARDINALITY_VIOLATION, message
    shown = "this value" if taken.key.startswith("#sha256:") else taken.key
    message = f"{member} {shown} is already used by {owner_class} {owner_id}"
    return UNIQUE_VIOLATION, message


def _summary(taken: Sequence[TakenKey]) -> str:
    """The first conflict in words (a caller that keeps only the message, such
    as a run's error list, still says which value)."""
    first = describe(taken[0])[1]
    return first if len(taken) == 1 else f"{first} (and {len(taken) - 1} more)"


def _class_of(scope: str) -> str:
    return split_scope(scope)[1]


def _first_unique(lineage: Sequence[ClassDef], name: str) -> str:
    """The highest class of the lineage declaring the property unique: a
    subclass that redeclares it shares its ancestor's scope."""
    return next(
        (c.id for c in lineage if (p := c.own_property(name)) is not None and p.unique),
        lineage[-1].id,
    )


def _first_exclusive(lineage: Sequence[ClassDef], predicate: str) -> str:
    return next(
        (
            c.id
            for c in lineage
            if (r := c.own_relationship(predicate)) is not None
            and not r.cardinality.shared_targets
        ),
        lineage[-1].id,
    )
