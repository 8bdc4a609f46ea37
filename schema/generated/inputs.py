"""Generated input types: where filters, order keys, create inputs and patches."""

from __future__ import annotations

from typing import Any

import strawberry

from schema.generated import dynamic
from schema.generated.dynamic import Member
from schema.generated.fieldtypes import filter_type, input_type, sortable
from schema.generated.objects import ClassTypes
from schema.generated.plan import ClassPlan, LinkField
from schema.generated.shared import SortDirection, StringFilter


def finish_inputs(
    plan: ClassPlan, types: ClassTypes, all_types: dict[str, ClassTypes]
) -> None:
    _where(plan, types, all_types)
    _relation_filter(plan, types)
    _order_by(plan, types)
    dynamic.finish(
        types.input, _fields(plan, patch=False), name=plan.names.input, kind="input"
    )
    dynamic.finish(
        types.patch,
        _fields(plan, patch=True),
        name=plan.names.patch,
        kind="input",
        description="Absent fields stay as they are; an explicit null clears one.",
    )


def _where(
    plan: ClassPlan, types: ClassTypes, all_types: dict[str, ClassTypes]
) -> None:
    members = [
        dynamic.plain("and_", "and", dynamic.optional(dynamic.list_of(types.where))),
        dynamic.plain("or_", "or", dynamic.optional(dynamic.list_of(types.where))),
        dynamic.plain("not_", "not", dynamic.optional(types.where)),
        dynamic.plain("id", "id", StringFilter | None),
    ]
    members += [
        dynamic.plain(p.python_name, p.graphql_name, filter_type(p.prop) | None)
        for p in plan.properties
    ]
    # Relationships: a to-one takes the target's filter, a to-many some/every/none.
    for link in plan.links:
        target = all_types[link.target.class_id]
        annotation = target.relation_filter if link.many else target.where
        members.append(
            dynamic.plain(link.python_name, link.graphql_name, annotation | None)
        )
    dynamic.finish(types.where, members, name=plan.names.where, kind="input")


def _relation_filter(plan: ClassPlan, types: ClassTypes) -> None:
    quantifiers = ("some", "every", "none")
    members = [dynamic.plain(q, q, dynamic.optional(types.where)) for q in quantifiers]
    dynamic.finish(
        types.relation_filter,
        members,
        name=plan.names.relation_filter,
        kind="input",
        description="Matches when some, every or none of the related objects match.",
    )


def _order_by(plan: ClassPlan, types: ClassTypes) -> None:
    members = [dynamic.plain("id", "id", SortDirection | None)]
    members += [
        dynamic.plain(p.python_name, p.graphql_name, SortDirection | None)
        for p in plan.properties
        if sortable(p.prop)
    ]
    dynamic.finish(
        types.order_by,
        members,
        name=plan.names.order_by,
        kind="input",
        description="One sort key per list item, in priority order.",
    )


def _fields(plan: ClassPlan, *, patch: bool) -> list[Member]:
    members = []
    for p in plan.properties:
        needed = not patch and (
            p.is_key or (p.prop.required and p.prop.default is None)
        )
        members.append(
            dynamic.plain(
                p.python_name, p.graphql_name, input_type(p.prop, required=needed)
            )
        )
    members += [
        _link_input(link, patch=patch) for link in plan.links if not link.inverse
    ]
    return members


def _link_input(link: LinkField, *, patch: bool) -> Member:
    """A to-one relationship takes the target id, a to-many a list of ids."""
    annotation: Any = dynamic.list_of(strawberry.ID) if link.many else strawberry.ID
    if patch or not link.required:
        annotation = annotation | None
    return dynamic.plain(link.python_name, link.graphql_name, annotation)
