"""Generated aggregate types: `<Type>Aggregate { count sum avg min max groupBy }`."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from domain.ontology import Family, PropertyDef
from resolvers.instances import aggregates
from schema.generated import dynamic
from schema.generated.dynamic import Arg, Member
from schema.generated.fieldtypes import sortable
from schema.generated.objects import ClassTypes
from schema.generated.plan import ClassPlan
from schema.generated.shared import AggregateGroup
from schema.scalars import Decimal, Long

# (python attribute of Aggregation, GraphQL field)
_PARTS = (("sum", "sum"), ("avg", "avg"), ("min_", "min"), ("max_", "max"))


def _number_type(prop: PropertyDef, part: str) -> Any:
    """Sums of integers may leave 32 bits (Long); decimals stay exact (Decimal)."""
    family = prop.type.family
    if family is Family.DECIMAL:
        return Decimal
    if family is Family.INTEGER and part != "avg":
        return Long
    return float


def finish_aggregate(plan: ClassPlan, types: ClassTypes) -> None:
    members = [dynamic.plain("count", "count", int)]
    numbers = aggregates.numeric_properties(plan)
    if numbers:
        for (attr, field), name in zip(_PARTS, plan.names.aggregate_parts, strict=True):
            fields = [
                dynamic.plain(
                    p.python_name, p.graphql_name, _number_type(p.prop, field) | None
                )
                for p in numbers
            ]
            part = dynamic.finish(dynamic.blank(name), fields, name=name)
            members.append(dynamic.plain(attr, field, part))
    group = _group_by(plan)
    if group is not None:
        members.append(group)
    dynamic.finish(
        types.aggregate,
        members,
        name=plan.names.aggregate,
        description="Evaluated over the graph store's current nodes of the class.",
    )


def _group_by(plan: ClassPlan) -> Member | None:
    groupable = [p for p in plan.properties if sortable(p.prop)]
    if not groupable:
        return None
    names = {p.graphql_name: p.python_name for p in groupable}
    members: type[Enum] = Enum(plan.names.group_field, names)  # type: ignore[misc]
    fields = strawberry.enum(members, name=plan.names.group_field)
    return dynamic.resolved(
        "group_by",
        "groupBy",
        dynamic.list_of(AggregateGroup),
        aggregates.group_by,
        [Arg("fields", dynamic.list_of(fields))],
    )
