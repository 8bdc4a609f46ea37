"""Claims derived from events: replaying what a branch sees in position order
gives the claims each of its own events made (the write path's rules, so the
result is what the write path would have stored). Used to build the claims of
events appended before claims were kept, and to rebuild them from scratch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain import events as ev
from domain.claims import (
    Claim,
    claims_between,
    class_change_claims,
    held_keys,
    rescoped,
)
from domain.events import EventEnvelope
from domain.ontology import Ontology, class_from_dict


@dataclass(slots=True)
class ClaimReplay:
    """Follows one branch through the class and instance events it sees (its
    ancestors' up to the fork, then its own), in position order."""

    branch: str
    ontology: Ontology = field(default_factory=Ontology)
    # Live instances by stream id: an instance event carries the full state.
    states: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def apply(self, event: EventEnvelope) -> list[Claim]:
        """The claims `event` made if it is one of the branch's own; an
        ancestor's event only moves the state the branch starts from."""
        own = event.branch == self.branch
        if event.aggregate_type == ev.CLASS and "definition" in event.data:
            return self._class_event(event.data["definition"], own=own)
        if event.aggregate_type == ev.INSTANCE:
            return self._instance_event(event, own=own)
        return []

    def _class_event(self, definition: Mapping[str, Any], *, own: bool) -> list[Claim]:
        classdef = class_from_dict(definition)
        old, new = self.ontology, self.ontology.with_class(classdef)
        self.ontology = new
        classes = rescoped(old, new, classdef.id) if own else ()
        if not classes:
            return []
        return class_change_claims(old, new, classes, self.states.items())

    def _instance_event(self, event: EventEnvelope, *, own: bool) -> list[Claim]:
        holder = event.aggregate_id
        before = self.states.get(holder)
        after = None if event.event_type == ev.INSTANCE_DELETED else event.data
        if after is None:
            self.states.pop(holder, None)
        else:
            self.states[holder] = after
        if not own:
            return []
        return claims_between(
            holder, held_keys(self.ontology, before), held_keys(self.ontology, after)
        )
