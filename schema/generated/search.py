"""The generated `search` root field: a union of every concrete class's type."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.union import StrawberryUnion

from resolvers.instances import search
from schema.generated import dynamic
from schema.generated.dynamic import Arg, Member
from schema.generated.objects import ClassTypes
from schema.generated.plan import ClassPlan, SchemaPlan
from schema.generated.shared import PageInfo


def search_field(plan: SchemaPlan, built: dict[str, ClassTypes]) -> Member | None:
    """None when no class can have instances (a union needs a member)."""
    concrete = [p for p in plan.classes if not p.classdef.abstract]
    if not concrete:
        return None
    objects = {p.class_id: built[p.class_id].object for p in concrete}
    union = StrawberryUnion(
        name="SearchResult",
        type_annotations=tuple(StrawberryAnnotation(t) for t in objects.values()),
        description="An object of any class.",
    )
    edge = dynamic.finish(
        dynamic.blank("SearchEdge"),
        [dynamic.plain("cursor", "cursor", str), dynamic.plain("node", "node", union)],
        name="SearchEdge",
    )
    connection = dynamic.finish(
        dynamic.blank("SearchConnection"),
        [
            dynamic.plain("edges", "edges", dynamic.list_of(edge)),
            dynamic.plain("nodes", "nodes", dynamic.list_of(union)),
            dynamic.plain("page_info", "pageInfo", PageInfo),
            dynamic.plain("total_count", "totalCount", int),
        ],
        name="SearchConnection",
        description="Hits best first; totalCount counts this page.",
    )
    plans = _lookup(plan.classes)

    def cast(hit: search.SearchHit) -> Any:
        return strawberry.cast(objects[hit.class_id], hit)

    async def resolve(_root: Any, info: Any, **kwargs: Any) -> Any:
        return await search.search(info, plans=plans, cast=cast, **kwargs)

    return dynamic.resolved(
        "search",
        "search",
        connection,
        resolve,
        [
            Arg("query", str),
            Arg("classes", list[str] | None),
            Arg("first", int | None),
        ],
        description="Full text across classes (ids or type names; subclasses too).",
    )


def _lookup(plans: tuple[ClassPlan, ...]) -> dict[str, ClassPlan]:
    found = {p.names.object: p for p in plans}
    found.update({p.class_id: p for p in plans})
    return found
