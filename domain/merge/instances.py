"""Instance events as merge states, and merged states as ordinary instance events.

Every instance event carries the full state after it (values and links), so a
stream's last event visible in a snapshot is the object's state there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from domain import events as ev
from domain.events import EventEnvelope, NewEvent
from domain.ids import split_instance_aggregate_id
from domain.merge.three_way import State
from domain.ontology import Ontology

# The object's class rides along its fields under a name no property can have
# (field names match [A-Za-z_][A-Za-z0-9_]*): two sides creating one id as
# different classes then conflict on it like on any field.
CLASS_FIELD: Final = "@class"


def instance_state(event: EventEnvelope | None) -> State:
    """The object's fields after `event`; None if there is none or it deleted."""
    if event is None or event.event_type == ev.INSTANCE_DELETED:
        return None
    data = event.data
    return {**data["values"], **data["links"], CLASS_FIELD: data["class_id"]}


def class_of(state: Mapping[str, Any]) -> str:
    return str(state[CLASS_FIELD])


def fields_of(state: State) -> dict[str, Any]:
    """The object's properties and links, without its class."""
    return {k: v for k, v in (state or {}).items() if k != CLASS_FIELD}


def merged_instance_event(
    ontology: Ontology, key: str, merged: State, tip: EventEnvelope | None
) -> NewEvent | None:
    """The event that brings the target from `tip` to `merged`; None if equal."""
    current = instance_state(tip)
    if merged == current:
        return None
    _, instance_id = split_instance_aggregate_id(key)
    if merged is None:
        assert tip is not None  # noqa: S101 - a live current state has a tip
        data = {
            "class_id": tip.data["class_id"],
            "instance_id": instance_id,
            "created_at": _created_at(tip),
        }
        return NewEvent(event_type=ev.INSTANCE_DELETED, data=data)
    payload = _state_payload(ontology, instance_id, merged)
    if current is None:
        return NewEvent(event_type=ev.INSTANCE_CREATED, data=payload)
    names = {*fields_of(current), *fields_of(merged)}
    payload["changed"] = sorted(n for n in names if current.get(n) != merged.get(n))
    payload["created_at"] = _created_at(tip)
    return NewEvent(event_type=ev.INSTANCE_UPDATED, data=payload)


def _state_payload(
    ontology: Ontology, instance_id: str, state: Mapping[str, Any]
) -> dict[str, Any]:
    """The full-state payload instance events carry (as instance_handlers writes it)."""
    class_id = class_of(state)
    predicates = {r.predicate for r in ontology.effective_relationships(class_id)}
    fields = fields_of(state)
    return {
        "class_id": class_id,
        "instance_id": instance_id,
        "values": {k: v for k, v in fields.items() if k not in predicates},
        "links": {k: v for k, v in fields.items() if k in predicates},
    }


def _created_at(tip: EventEnvelope | None) -> str | None:
    if tip is None:
        return None
    found = tip.data.get("created_at")
    return str(found) if found else tip.occurred_at.isoformat()
