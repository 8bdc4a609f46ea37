"""Class definitions as merge objects: the class's own fields, and each member.

A class merges per class and per member, with the rules instances follow
(three_way.py): the class's own fields (label, parent, keys, ...) are one
object, and every property and every relationship is an object of its own, so
two sides adding different properties merge, the same property changed on both
sides conflicts field by field, and a member removed on one side and changed on
the other is a DELETE_UPDATE conflict decided for the whole member.

Each object is keyed `@<class id>/<member>` with member `@class`,
`@property.<name>` or `@relationship.<predicate>`. `@` is in no class id and no
instance id, so these keys never meet an instance stream id, and they sort
before every one of them: a diff lists a class's changes before the objects of
it. The member names the object to clients (`classId` + `id` in §5.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from domain.merge.three_way import State

PREFIX: Final = "@"
CLASS_MEMBER: Final = "@class"
# (list field of the definition, the member's name field, the member id prefix)
MEMBER_LISTS: Final = (
    ("properties", "name", "@property."),
    ("relationships", "predicate", "@relationship."),
)

Definition = Mapping[str, Any]


def is_ontology_id(instance_id: str) -> bool:
    """Whether a client's `id` names a class member rather than an instance."""
    return instance_id.startswith(PREFIX)


def ontology_key(class_id: str, member: str) -> str:
    return f"{PREFIX}{class_id}/{member}"


def split_ontology_key(key: str) -> tuple[str, str]:
    """(class id, member) of a key made by `ontology_key`."""
    class_id, _, member = key[len(PREFIX) :].partition("/")
    return class_id, member


def member_states(class_id: str, definition: Definition | None) -> dict[str, State]:
    """The class as merge objects by key; an absent class has none."""
    if definition is None:
        return {}
    lists = {name for name, _, _ in MEMBER_LISTS}
    own = {k: v for k, v in definition.items() if k not in lists and v is not None}
    states: dict[str, State] = {ontology_key(class_id, CLASS_MEMBER): own}
    for list_name, name_field, prefix in MEMBER_LISTS:
        for member in definition.get(list_name) or ():
            key = ontology_key(class_id, f"{prefix}{member[name_field]}")
            states[key] = {k: v for k, v in member.items() if v is not None}
    return states


def class_keys(class_id: str, *definitions: Definition | None) -> list[str]:
    """Every object key any of the versions has, sorted."""
    keys: set[str] = set()
    for definition in definitions:
        keys.update(member_states(class_id, definition))
    return sorted(keys)


def rebuilt(
    class_id: str, final: Mapping[str, State], order: Sequence[Definition | None]
) -> dict[str, Any] | None:
    """The class definition made of merged objects; None if the class itself is
    absent. Members keep the order of the first version in `order` that has
    them (the target's, then the source's), so an unchanged list stays as is."""
    own = final.get(ontology_key(class_id, CLASS_MEMBER))
    if own is None:
        return None
    definition: dict[str, Any] = dict(own)
    for list_name, name_field, prefix in MEMBER_LISTS:
        names = _ordered(m[name_field] for d in order for m in _members(d, list_name))
        definition[list_name] = [
            dict(state)
            for name in names
            if (state := final.get(ontology_key(class_id, f"{prefix}{name}")))
            is not None
        ]
    return definition


def _members(definition: Definition | None, list_name: str) -> list[Definition]:
    return list((definition or {}).get(list_name) or ())


def _ordered(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
