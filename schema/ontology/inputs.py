"""Generated input types: where filters, order keys, create inputs and patches.

Input fields carry `out_name`s, so resolvers receive dicts keyed by the plan's
Python names; an absent field is absent from the dict (a patch leaves it alone),
an explicit null is None (a patch clears it).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLString,
)

from schema.ontology import shared
from schema.ontology.fieldtypes import filter_type, input_type, sortable
from schema.ontology.objects import Built, ClassTypes
from schema.ontology.plan import ClassPlan, LinkField
from schema.ontology.shared import input_field

# The Python name of the class-level full-text condition of where inputs.
TEXT_SEARCH = "text_search"


def declare_inputs(plan: ClassPlan, types: ClassTypes, built: Built) -> None:
    names = plan.names
    types.where = GraphQLInputObjectType(
        names.where, lambda: _where(plan, types, built)
    )
    types.relation_filter = GraphQLInputObjectType(
        names.relation_filter,
        lambda: {q: input_field(types.where, q) for q in ("some", "every", "none")},
        description="Matches when some, every or none of the related objects match.",
    )
    types.order_by = GraphQLInputObjectType(
        names.order_by,
        lambda: _order_by(plan, built),
        description="One sort key per list item, in priority order.",
    )
    types.input = GraphQLInputObjectType(
        names.input, lambda: _fields(plan, patch=False)
    )
    types.patch = GraphQLInputObjectType(
        names.patch,
        lambda: _fields(plan, patch=True),
        description="Absent fields stay as they are; an explicit null clears one.",
    )


def _where(
    plan: ClassPlan, types: ClassTypes, built: Built
) -> dict[str, GraphQLInputField]:
    where: Any = types.where
    fields = {
        "and": input_field(GraphQLList(GraphQLNonNull(where)), "and_"),
        "or": input_field(GraphQLList(GraphQLNonNull(where)), "or_"),
        "not": input_field(where, "not_"),
        "id": input_field(shared.StringFilter, "id"),
    }
    for p in plan.properties:
        fields[p.graphql_name] = input_field(filter_type(p.prop), p.python_name)
    # Relationships: a to-one takes the target's filter, a to-many some/every/none.
    for link in plan.links:
        target = built[link.target.class_id]
        kind: Any = target.relation_filter if link.many else target.where
        fields[link.graphql_name] = input_field(kind, link.python_name)
    # Full text of the class's search documents; `_search` if a member is `search`.
    fields["_search" if "search" in fields else "search"] = GraphQLInputField(
        GraphQLString,
        out_name=TEXT_SEARCH,
        description="Objects whose search document matches every word (the "
        "last as a prefix); combines with the other conditions.",
    )
    return fields


def _order_by(plan: ClassPlan, built: Built) -> dict[str, GraphQLInputField]:
    fields = {"id": input_field(shared.SortDirection, "id")}
    for p in plan.properties:
        if sortable(p.prop):
            fields[p.graphql_name] = input_field(shared.SortDirection, p.python_name)
    # A to-one relationship sorts by the related object's fields (its own
    # orderBy input); a missing or dangling one sorts as a null.
    for link in plan.links:
        if not link.many and not link.inverse:
            target = built[link.target.class_id].order_by
            fields[link.graphql_name] = input_field(target, link.python_name)
    return fields


def _fields(plan: ClassPlan, *, patch: bool) -> dict[str, GraphQLInputField]:
    fields = {}
    for p in plan.properties:
        needed = not patch and (
            p.is_key or (p.prop.required and p.prop.default is None)
        )
        fields[p.graphql_name] = input_field(
            input_type(p.prop, required=needed), p.python_name
        )
    for link in plan.links:
        if not link.inverse:
            fields[link.graphql_name] = _link_input(link, patch=patch)
    return fields


def _link_input(link: LinkField, *, patch: bool) -> GraphQLInputField:
    """A to-one relationship takes the target id, a to-many a list of ids."""
    kind: Any = (
        GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLID)))
        if link.many
        else GraphQLNonNull(GraphQLID)
    )
    if patch or not link.required:
        kind = kind.of_type
    return input_field(kind, link.python_name)
