"""Merged objects checked against the target's ontology before they are written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import FieldError
from domain.ids import split_instance_aggregate_id
from domain.instances import validate_instance
from domain.merge.instances import CLASS_FIELD, class_of, fields_of
from domain.ontology import Ontology


@dataclass(frozen=True, slots=True)
class Reference:
    """A link of a merged object whose target must exist (danglingPolicy reject)."""

    path: tuple[str, ...]
    target_class: str
    target_id: str


def checked_state(
    ontology: Ontology, key: str, state: Mapping[str, Any]
) -> tuple[dict[str, Any], list[FieldError]]:
    """The state as a create of it would store it on the target, and what is wrong
    with it there (an unknown class or field, a missing required one, a bad value).
    Defaults are not added: a merged object may have cleared a defaulted field."""
    class_id = class_of(state)
    fields = fields_of(state)
    check = validate_instance(
        ontology, class_id, _as_input(ontology, class_id, fields), partial=False
    )
    where = _where(key, class_id)
    errors = [FieldError((*where, *e.path), e.code, e.message) for e in check.errors]
    normalised = {**check.values, **check.links}
    kept = {k: normalised.get(k, v) for k, v in fields.items()}
    return {**kept, CLASS_FIELD: class_id}, errors


def references(
    ontology: Ontology, key: str, state: Mapping[str, Any]
) -> list[Reference]:
    class_id = class_of(state)
    found = []
    for rel in ontology.effective_relationships(class_id):
        if str(rel.dangling_policy.value) != "reject":
            continue
        for target_id in state.get(rel.predicate) or ():
            path = (*_where(key, class_id), rel.predicate)
            found.append(Reference(path, rel.target, str(target_id)))
    return found


def _as_input(
    ontology: Ontology, class_id: str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Stored links are lists; a create takes a to-one link as one id."""
    to_one = {
        r.predicate
        for r in ontology.effective_relationships(class_id)
        if not r.cardinality.to_many
    }
    return {
        k: v[0] if k in to_one and isinstance(v, list) and len(v) == 1 else v
        for k, v in fields.items()
    }


def _where(key: str, class_id: str) -> tuple[str, ...]:
    return (class_id, split_instance_aggregate_id(key)[1])
