"""Breaking changes between two versions of a class: rejected without a migration plan."""

from __future__ import annotations

from domain.errors import FieldError
from domain.ontology.defs import ClassDef, PropertyDef, RelationshipDef


def breaking_changes(
    old: ClassDef, new: ClassDef, *, has_data: bool
) -> list[FieldError]:
    """Changes existing instances or queries could break on.

    Type, key, target and cardinality narrowing are breaking regardless of data (clients
    and stored events depend on them); removing a member or making one required only
    when the class has instances.
    """
    errors: list[FieldError] = []
    if old.primary_key != new.primary_key:
        message = f"primary key changes from {old.primary_key!r} to {new.primary_key!r}; instance ids would change"
        errors.append(FieldError(("primary_key",), "primary_key_changed", message))
    errors += _property_changes(old.properties, new.properties, has_data=has_data)
    errors += _relationship_changes(
        old.relationships, new.relationships, has_data=has_data
    )
    return errors


def _property_changes(
    old: tuple[PropertyDef, ...], new: tuple[PropertyDef, ...], *, has_data: bool
) -> list[FieldError]:
    errors: list[FieldError] = []
    after = {p.name: p for p in new}
    before = {p.name: p for p in old}
    for name, prop in before.items():
        path = ("properties", name)
        changed = after.get(name)
        if changed is None:
            if has_data:
                message = f"property {name!r} is removed but instances have data"
                errors.append(FieldError(path, "property_removed_with_data", message))
        elif changed.type != prop.type:
            message = (
                f"property {name!r} changes type from {prop.type} to {changed.type}"
            )
            errors.append(FieldError((*path, "type"), "property_type_changed", message))
    if has_data:
        errors += [
            FieldError(("properties", p.name, "required"), "required_added_with_data",
                       f"property {p.name!r} becomes required but existing instances may lack it")
            for p in new
            if p.required and not (p.name in before and before[p.name].required)
        ]  # fmt: skip
    return errors


def _relationship_changes(
    old: tuple[RelationshipDef, ...],
    new: tuple[RelationshipDef, ...],
    *,
    has_data: bool,
) -> list[FieldError]:
    errors: list[FieldError] = []
    after = {r.predicate: r for r in new}
    before = {r.predicate: r for r in old}
    for predicate, rel in before.items():
        path = ("relationships", predicate)
        changed = after.get(predicate)
        if changed is None:
            if has_data:
                message = (
                    f"relationship {predicate!r} is removed but instances have links"
                )
                errors.append(
                    FieldError(path, "relationship_removed_with_data", message)
                )
            continue
        if changed.target != rel.target:
            message = f"relationship {predicate!r} changes target from {rel.target} to {changed.target}"
            errors.append(
                FieldError((*path, "target"), "relationship_target_changed", message)
            )
        if _narrowed(rel, changed):
            message = f"relationship {predicate!r} narrows from {rel.cardinality} to {changed.cardinality}"
            errors.append(
                FieldError((*path, "cardinality"), "cardinality_narrowed", message)
            )
    if has_data:
        errors += [
            FieldError(("relationships", r.predicate, "required"), "required_added_with_data",
                       f"relationship {r.predicate!r} becomes required but existing instances may lack it")
            for r in new
            if r.required and not (r.predicate in before and before[r.predicate].required)
        ]  # fmt: skip
    return errors


def _narrowed(old: RelationshipDef, new: RelationshipDef) -> bool:
    """Either side goes from many to one: existing links may no longer fit."""
    old_card, new_card = old.cardinality, new.cardinality
    return (old_card.to_many and not new_card.to_many) or (
        old_card.shared_targets and not new_card.shared_targets
    )
