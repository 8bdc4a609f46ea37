"""Typed `where` and `orderBy` inputs as domain.queries filters and sort keys, for
the graph store to evaluate (`GraphStore.find`); None where a part needs more
than one node's own values (a relationship condition) or an operand cannot be
put in the stored values' canonical form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.ontology import formats
from domain.queries import AllOf, AnyOf, Condition, Hop, Negated, NodeFilter, SortKey
from resolvers.context import Context
from resolvers.instances import patterns, text_search
from resolvers.instances.filtering import kind_of, set_fields
from schema.ontology.plan import ClassPlan

_OPERATORS = {"in_": "in"}


class _Declined(Exception):
    pass


def node_filter(
    where: Mapping[str, Any],
    plan: ClassPlan,
    searches: Mapping[str, frozenset[str]] | None = None,
) -> NodeFilter | None:
    """`searches`: the id sets of the `search` conditions by text
    (text_search.resolved); without them a `search` condition is declined."""
    try:
        return _filter(where, plan, searches or {})
    except _Declined:
        return None


def sort_keys(
    order_by: Sequence[Mapping[str, Any]], plan: ClassPlan, via: tuple[Hop, ...] = ()
) -> list[SortKey]:
    """In priority order: each input's fields in turn, then the next input's;
    a to-one relationship's nested input gives its keys in place, each
    reached through that relationship (`via`)."""
    keys: list[SortKey] = []
    for spec in order_by:
        for name, direction in set_fields(spec):
            if direction is None:
                continue
            link = plan.link_for(name)
            if link is not None:
                hop = Hop(link.predicate, link.target.class_ids)
                keys.extend(sort_keys([direction], link.target, (*via, hop)))
                continue
            prop = plan.property_for(name)
            field = prop.name if prop is not None else None
            kind = kind_of(prop.prop) if prop is not None else "text"
            keys.append(SortKey(field, direction == "DESC", kind, via))
    return keys


def _filter(
    where: Mapping[str, Any], plan: ClassPlan, searches: Mapping[str, frozenset[str]]
) -> NodeFilter:
    parts: list[NodeFilter] = []
    for name, condition in set_fields(where):
        if condition is None:
            continue
        if name == "and_":
            parts.append(AllOf(tuple(_filter(c, plan, searches) for c in condition)))
        elif name == "or_":
            parts.append(AnyOf(tuple(_filter(c, plan, searches) for c in condition)))
        elif name == "not_":
            parts.append(Negated(_filter(condition, plan, searches)))
        elif name == "id":
            parts.append(_conditions(None, "text", condition, "id"))
        elif name == text_search.FIELD:
            parts.append(_searched(searches, condition))
        else:
            prop = plan.property_for(name)
            if prop is None:  # a relationship condition: the graph's to evaluate
                raise _Declined
            kind = kind_of(prop.prop)
            parts.append(_conditions(prop.name, kind, condition, prop.graphql_name))
    return AllOf(tuple(parts))


def _searched(searches: Mapping[str, frozenset[str]], text: Any) -> Condition:
    """The documents' ids as an `id in` condition, sorted so that equal
    requests make equal statements."""
    found = searches.get(str(text))
    if found is None:
        raise _Declined
    return Condition(None, "in", sorted(found), "text")


def _conditions(
    field: str | None, kind: str, operators: Mapping[str, Any], label: str
) -> NodeFilter:
    """`label`: the field's GraphQL name, for errors about its operands."""
    found = [
        Condition(
            field, _OPERATORS.get(op, op), _operand(kind, op, operand, label), kind
        )
        for op, operand in set_fields(operators)
        if operand is not None
    ]
    return AllOf(tuple(found))


def _operand(kind: str, op: str, operand: Any, label: str) -> Any:
    if op == "regex":
        return patterns.checked(operand, label)
    return _canonical(kind, op, operand)


def _canonical(kind: str, op: str, operand: Any) -> Any:
    """Operands in the form values are stored in, so the store compares like
    with like (decimals without insignificant zeros, instants in UTC)."""
    if op in ("in_", "nin"):
        return [_canonical(kind, "eq", o) for o in operand]
    if op == "is_null" or kind not in ("decimal", "datetime"):
        return operand
    if kind == "decimal":
        number = formats.parse_decimal(operand)
        if number is None:
            raise _Declined
        return formats.canonical_decimal(number)
    moment = formats.parse_datetime(operand)
    canonical = formats.canonical_datetime(moment) if moment else None
    if canonical is None or moment is None or moment.utcoffset() is None:
        raise _Declined
    return canonical


async def store_condition(
    ctx: Context, where: Mapping[str, Any] | None, plan: ClassPlan
) -> NodeFilter | None:
    """The filter for the graph store to evaluate (everything, `AllOf(())`,
    without `where`); None when pushdown is off or the store cannot be asked
    for part of it (the caller evaluates in memory)."""
    if not ctx.ports.limits.filter_pushdown:
        return None
    if where is None:
        return AllOf(())
    searches = await text_search.resolved(ctx, where, plan)
    return node_filter(where, plan, searches)
