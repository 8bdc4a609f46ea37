"""A `graphQuery` input checked against the schema plan and the limits: classes and
hops resolved, the JSON `where` turned into the typed filter form, caps applied."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from resolvers.errors import RequestError
from schema.limits import Limits
from schema.ontology.plan import ClassPlan, LinkField

# GraphQL operator names -> the filter inputs' Python names.
_OPERATORS = {
    "eq": "eq", "ne": "ne", "in": "in_", "nin": "nin", "gt": "gt", "gte": "gte",
    "lt": "lt", "lte": "lte", "contains": "contains", "startsWith": "starts_with",
    "endsWith": "ends_with", "isNull": "is_null",
}  # fmt: skip
_LOGIC = {"and": "and_", "or": "or_", "not": "not_"}


@dataclass(frozen=True, slots=True)
class Hop:
    link: LinkField
    target_classes: frozenset[str]


@dataclass(slots=True, kw_only=True)
class GraphRequest:
    start: ClassPlan
    hops: list[Hop]
    ids: list[str] | None
    where: dict[str, Any] | None
    first: int
    offset: int
    max_nodes: int
    max_edges: int
    no_cycles: bool
    include_documents: bool
    include_paths: bool
    as_of: int | None = None


def parse_request(
    raw: Mapping[str, Any], plans: Mapping[str, ClassPlan], limits: Limits
) -> GraphRequest:
    start = _class(plans, raw["start_class"], "startClass")
    hops, current = [], start
    for index, hop in enumerate(raw.get("hops") or ()):
        parsed = _hop(plans, current, hop, index)
        hops.append(parsed)
        current = parsed.link.target
    ids = raw.get("ids")
    where = raw.get("where")
    return GraphRequest(
        start=start,
        hops=hops,
        ids=[str(i) for i in ids] if ids is not None else None,
        where=_where(where, start, "where") if where is not None else None,
        first=_bounded(raw.get("first"), limits.default_page_size, limits.max_page_size, "first"),
        offset=_bounded(raw.get("offset"), 0, 10**9, "offset"),
        max_nodes=_bounded(raw.get("max_nodes"), limits.graph_default_nodes, limits.graph_max_nodes, "maxNodes"),
        max_edges=_bounded(raw.get("max_edges"), limits.graph_default_edges, limits.graph_max_edges, "maxEdges"),
        no_cycles=raw.get("no_cycles") is not False,
        include_documents=bool(raw.get("include_documents")),
        include_paths=bool(raw.get("include_paths")),
    )  # fmt: skip


def _bounded(value: Any, default: int, cap: int, name: str) -> int:
    if value is None:
        return default
    if not 0 <= int(value) <= cap:
        raise RequestError(f"{name} must be between 0 and {cap}")
    return int(value)


def _class(plans: Mapping[str, ClassPlan], name: str, where: str) -> ClassPlan:
    plan = plans.get(name)
    if plan is None:
        raise RequestError(f"{where}: unknown class {name!r}")
    return plan


def _hop(
    plans: Mapping[str, ClassPlan],
    current: ClassPlan,
    raw: Mapping[str, Any],
    index: int,
) -> Hop:
    wanted = str(raw["predicate"])
    link = next((k for k in current.links if wanted in (k.name, k.graphql_name)), None)
    if link is None:
        known = ", ".join(sorted(k.name for k in current.links)) or "none"
        raise RequestError(
            f"hops[{index}]: {current.class_id} has no relationship {wanted!r} "
            f"(known: {known})"
        )
    targets = frozenset(link.target.class_ids)
    if raw.get("target_class") is not None:
        target = _class(plans, raw["target_class"], f"hops[{index}].targetClass")
        targets = targets & frozenset(target.class_ids)
        if not targets:
            raise RequestError(
                f"hops[{index}]: {wanted!r} leads to {link.target.class_id}, "
                f"not {target.class_id}"
            )
    return Hop(link, targets)


def _where(raw: Any, plan: ClassPlan, path: str) -> dict[str, Any]:
    """`{"name": "Ada", "price": {"gt": "5"}, "or": [...]}` in the typed form."""
    if not isinstance(raw, Mapping):
        raise RequestError(f"{path} must be an object")
    by_name = {p.name: p.python_name for p in plan.properties}
    by_name.update({p.graphql_name: p.python_name for p in plan.properties})
    typed: dict[str, Any] = {}
    for name, value in raw.items():
        if name in _LOGIC:
            typed[_LOGIC[name]] = _logic(name, value, plan, f"{path}.{name}")
        elif name == "id" or name in by_name:
            typed[by_name.get(name, "id")] = _condition(value, f"{path}.{name}")
        else:
            raise RequestError(f"{path}: {plan.class_id} has no property {name!r}")
    return typed


def _logic(name: str, value: Any, plan: ClassPlan, path: str) -> Any:
    if name == "not":
        return _where(value, plan, path)
    if not isinstance(value, list):
        raise RequestError(f"{path} must be a list")
    return [_where(v, plan, f"{path}[{i}]") for i, v in enumerate(value)]


def _condition(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {"eq": value}
    unknown = [op for op in value if op not in _OPERATORS]
    if unknown:
        raise RequestError(f"{path}: unknown operator {unknown[0]!r}")
    return {_OPERATORS[op]: operand for op, operand in value.items()}
