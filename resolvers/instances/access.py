"""Access policies applied to every read of the generated schema: row filters
hide objects, masks forbid properties (policies.py says what a policy is).

The no-policy path costs nothing: `guard()` is None when the request has no
rules (an OWNER, an ADMIN, a role without policies) and reads check only that.

Row filters. An object outside its class's filter reads as not found: lists
and their counts skip it, by id it is null, a to-one relationship to it is
null, to-many and inverse lists skip it, graphQuery neither reaches nor
traverses it, search and subscriptions never return it, aggregates do not
count it, and relationship conditions of `where` treat it as absent. Reads
the graph store evaluates get the filter ANDed into their condition
(`store_condition`); the in-memory evaluation applies the same typed `where`
to the node (`Guard.hides`). A dangling reference is judged by its stub (its
key, set to the id), as the store judges it. One store condition covers a
class and its subclasses, so where their filters differ the read is
evaluated in memory; so is a sort through a filtered class's objects.

Masks. Reading a masked property is null with a FORBIDDEN error: rows handed
to the schema (`Guard.shown`) carry their values behind `Masked`, which raises
for masked keys, so unmasked reads pay nothing per field. A masked property
may not be used where its values would show through: `where` (nested and
relationship conditions included), `orderBy` (related keys included),
`groupBy`, sum/avg/min/max of it, and full-text search over a class with
masks (its search documents hold every property): all refused with
FORBIDDEN. A read of a class covers its subclasses, so the masks it checks are
the union of theirs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from domain.ports import NodeVersion
from domain.queries import AllOf, NodeFilter, SortKey
from domain.security import AccessRules
from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.instances import loaders, pushdown
from resolvers.instances.filtering import condition_test
from resolvers.instances.grouping import Figures
from resolvers.instances.policies import (
    NOTHING,
    Typed,
    check_policy,
    check_row_filter,
    effective_rules,
    typed_filter,
)
from resolvers.instances.rows import NodeRow, dangling, row
from schema.ontology.inputs import TEXT_SEARCH
from schema.ontology.plan import ClassPlan, LinkField, numeric_properties

# What setAccessPolicy and authentication call (policies.py), from here too.
__all__ = ["Guard", "check_policy", "check_row_filter", "effective_rules", "guard"]

FORBIDDEN = "FORBIDDEN"
EVERYTHING = AllOf(())  # the store condition of a class without a row filter


def forbidden(message: str, field: str) -> RequestError:
    return RequestError(message, code=FORBIDDEN, details={"field": field})


class Masked(Mapping[str, Any]):
    """Values some of whose keys are forbidden: reading one raises FORBIDDEN,
    whether it holds a value or not. Iteration gives every key, so copying
    (`dict(...)`) raises too and nothing passes masked values on by accident;
    `raw` are the values as stored."""

    __slots__ = ("_labels", "_owner", "raw")

    def __init__(
        self, raw: Mapping[str, Any], labels: Mapping[str, str], owner: str
    ) -> None:
        """`labels`: masked key -> the field's name in errors."""
        self.raw = raw
        self._labels = labels
        self._owner = owner

    def __getitem__(self, key: str) -> Any:
        label = self._labels.get(key)
        if label is not None:
            raise forbidden(f"{self._owner}.{label} is masked for your role", label)
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


def raw_values(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return values.raw if isinstance(values, Masked) else values


@dataclass(frozen=True, slots=True)
class RowFilter:
    """A class's row filter ready to evaluate: `where` typed as resolvers
    receive it, and as a store condition (None: the store cannot be asked).
    Without a plan (a class the schema does not know) nothing is admitted."""

    plan: ClassPlan | None
    where: Typed
    condition: NodeFilter | None
    test: Predicate = field(default=lambda _: False)  # compiled from `where`

    def admits(self, r: NodeRow) -> bool:
        return self.plan is not None and self.test(r)


Predicate = Callable[[NodeRow], bool]


def _predicate(where: Typed, plan: ClassPlan) -> Predicate:
    """The in-memory meaning of Where.select for property conditions only,
    compiled once per filter: a row filter is evaluated on every object a
    request reads (~2 µs an object interpreted, a quarter of it compiled)."""
    tests: list[Predicate] = []
    for name, condition in where.items():
        if condition is None:
            continue
        if name == "and_":
            tests.append(_all([_predicate(part, plan) for part in condition]))
        elif name == "or_":
            anyof = [_predicate(part, plan) for part in condition]
            tests.append(lambda r, parts=anyof: any(t(r) for t in parts))  # type: ignore[misc]
        elif name == "not_":
            negated = _predicate(condition, plan)
            tests.append(lambda r, inner=negated: not inner(r))  # type: ignore[misc]
        else:
            tests.append(condition_test(name, condition, plan))
    return _all(tests)


def _all(tests: list[Predicate]) -> Predicate:
    if len(tests) == 1:
        return tests[0]
    return lambda r: all(t(r) for t in tests)


# Compiled row filters by (stored filter, plan) identity: a role's policies are
# the same objects from request to request (the security service caches them),
# so a filter is typed once, not once per read. Entries hold both objects, so
# neither id can be reused while cached.
_COMPILED: dict[tuple[int, int], tuple[object, ClassPlan, RowFilter]] = {}
_COMPILED_MAX = 1024


def compiled(raw: Mapping[str, Any], plan: ClassPlan) -> RowFilter:
    """A stored filter that no longer fits the ontology (a property renamed
    since) matches nothing: access fails closed."""
    key = (id(raw), id(plan))
    found = _COMPILED.get(key)
    if found is not None and found[0] is raw and found[1] is plan:
        return found[2]
    where, problems = typed_filter(raw, plan)
    if problems:
        where = NOTHING
    result = RowFilter(
        plan, where, pushdown.node_filter(where, plan), _predicate(where, plan)
    )
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    _COMPILED[key] = (raw, plan, result)
    return result


class Guard:
    """The request's access rules over one schema's classes."""

    __slots__ = ("_filters", "_labels", "_plans", "rules")

    def __init__(self, rules: AccessRules, plans: Mapping[str, ClassPlan]) -> None:
        self.rules = rules
        self._plans = plans
        self._labels: dict[str, dict[str, str]] = {}  # class id -> masked labels
        # class id -> its row filter: a hop judges every row it reads
        self._filters: dict[str, RowFilter | None] = {}

    def plan_of(self, class_id: str) -> ClassPlan | None:
        return self._plans.get(class_id)

    # --- row filters ------------------------------------------------------------

    def row_filter(self, class_id: str) -> RowFilter | None:
        try:
            return self._filters[class_id]
        except KeyError:
            found = self._filters[class_id] = self._row_filter(class_id)
            return found

    def _row_filter(self, class_id: str) -> RowFilter | None:
        raw = self.rules.of(class_id).row_filter
        if raw is None:
            return None
        plan = self._plans.get(class_id)
        if plan is None:  # a class the schema does not know: nothing shows
            return RowFilter(None, NOTHING, None)
        return compiled(raw, plan)

    def filters(self, class_ids: Iterable[str]) -> bool:
        """Whether any of the classes has a row filter."""
        return any(self.rules.of(c).row_filter is not None for c in class_ids)

    def hides(self, r: NodeRow) -> bool:
        """Whether the row filter of the row's class leaves it out."""
        found = self.row_filter(r.class_id)
        if found is None:
            return False
        if isinstance(r.values, Masked):  # judged on what is stored
            r = NodeRow(r.class_id, r.instance_id, r.as_of, None, r.values.raw)
        return not found.admits(r)

    def hides_node(self, node: NodeVersion) -> bool:
        return self.hides(row(node, None))

    def restriction(self, plan: ClassPlan) -> NodeFilter | None:
        """The row filters of the plan's classes as one store condition
        (EVERYTHING when none has one); None when the store cannot be asked."""
        conditions = []
        for class_id in plan.class_ids:
            found = self.row_filter(class_id)
            conditions.append(EVERYTHING if found is None else found.condition)
        first = conditions[0]
        if first is None or any(c != first for c in conditions[1:]):
            return None
        return first

    # --- masks ------------------------------------------------------------------

    def masked(self, plan: ClassPlan) -> frozenset[str]:
        """Property names masked in any of the plan's classes."""
        found: frozenset[str] = frozenset()
        for class_id in plan.class_ids:
            found |= self.rules.of(class_id).masked
        return found

    def shown(self, r: NodeRow) -> NodeRow:
        """The row as the schema may read it: masked values behind `Masked`."""
        masked = self.rules.of(r.class_id).masked
        if not masked:
            return r
        labels = self._labels.get(r.class_id)
        if labels is None:
            plan = self._plans.get(r.class_id)
            labels = {m: _graphql_name(plan, m) for m in masked}
            self._labels[r.class_id] = labels
        node = r.node
        if node is not None:
            values = Masked(raw_values(node.values), labels, r.class_id)
            node = replace(node, values=values)
        stub = Masked(r.stub_values, labels, r.class_id)
        return NodeRow(r.class_id, r.instance_id, r.as_of, node, stub)

    def check_where(self, where: Mapping[str, Any], plan: ClassPlan) -> None:
        masked = self.masked(plan)
        for name, condition in where.items():
            if condition is None:
                continue
            if name in ("and_", "or_"):
                for part in condition:
                    self.check_where(part, plan)
            elif name == "not_":
                self.check_where(condition, plan)
            elif name == TEXT_SEARCH:
                if masked:
                    raise _searched(plan, masked)
            elif (link := plan.link_for(name)) is not None:
                for part in condition.values() if link.many else [condition]:
                    if part is not None:
                        self.check_where(part, link.target)
            else:
                self._check_property(plan, name, masked, "where")

    def check_order(self, spec: Mapping[str, Any], plan: ClassPlan) -> None:
        masked = self.masked(plan)
        for name, direction in spec.items():
            if direction is None:
                continue
            link = plan.link_for(name)
            if link is not None:
                self.check_order(direction, link.target)
            else:
                self._check_property(plan, name, masked, "orderBy")

    def check_group(self, python_names: Iterable[str], plan: ClassPlan) -> None:
        masked = self.masked(plan)
        for name in python_names:
            self._check_property(plan, name, masked, "groupBy")

    @staticmethod
    def _check_property(
        plan: ClassPlan, python_name: str, masked: frozenset[str], use: str
    ) -> None:
        prop = plan.property_for(python_name)
        if prop is not None and prop.name in masked:
            raise forbidden(
                f"{use}: {plan.class_id}.{prop.graphql_name} is masked for your "
                "role and cannot be filtered, sorted or grouped on",
                prop.graphql_name,
            )


def _graphql_name(plan: ClassPlan | None, name: str) -> str:
    prop = next((p for p in plan.properties if p.name == name), None) if plan else None
    return prop.graphql_name if prop is not None else name


def _searched(plan: ClassPlan, masked: frozenset[str]) -> RequestError:
    fields = ", ".join(_graphql_name(plan, m) for m in sorted(masked))
    return forbidden(
        f"search: full-text search over {plan.class_id} is not allowed for your "
        f"role, whose documents hold masked fields ({fields})",
        "search",
    )


def guard(ctx: Context, plan: ClassPlan) -> Guard | None:
    """None when the request has no rules: nothing to check."""
    if ctx.access.empty:
        return None
    return Guard(ctx.access, plan.plans)


def check_reads(
    ctx: Context, plan: ClassPlan, *, where: Any = None, order_by: Any = None
) -> None:
    """Refuses (FORBIDDEN) a `where` or `orderBy` that uses a masked field."""
    found = guard(ctx, plan)
    if found is None:
        return
    if where is not None:
        found.check_where(where, plan)
    for spec in order_by or ():
        found.check_order(spec, plan)


def check_search(ctx: Context, plans: Sequence[ClassPlan]) -> None:
    """Refuses full-text search over classes with masked fields."""
    for plan in plans:
        found = guard(ctx, plan)
        masked = found.masked(plan) if found is not None else frozenset()
        if masked:
            raise _searched(plan, masked)


async def store_condition(
    ctx: Context, where: Mapping[str, Any] | None, plan: ClassPlan
) -> NodeFilter | None:
    """pushdown.store_condition with the row filters of the plan's classes
    ANDed in; None as there, or when the filters cannot go to the store."""
    condition = await pushdown.store_condition(ctx, where, plan)
    found = guard(ctx, plan)
    if condition is None or found is None:
        return condition
    restriction = found.restriction(plan)
    if restriction is None:
        return None
    return condition if restriction == EVERYTHING else AllOf((condition, restriction))


def store_order(
    ctx: Context, order_by: Sequence[Mapping[str, Any]] | None, plan: ClassPlan
) -> list[SortKey] | None:
    """pushdown.sort_keys; None when a key sorts by related objects a row
    filter may hide (the store would sort by them; in memory they are nulls)."""
    keys = pushdown.sort_keys(order_by or (), plan)
    found = guard(ctx, plan)
    if found is not None and any(
        found.filters(h.class_ids) for k in keys for h in k.via
    ):
        return None
    return keys


def unhidden(found: Guard, rows: Iterable[NodeRow]) -> list[NodeRow]:
    """The rows the row filters leave, as stored (for evaluating, not showing)."""
    return [r for r in rows if not found.hides(r)]


def visible(found: Guard | None, rows: Iterable[NodeRow]) -> list[NodeRow]:
    """The rows the row filters leave, as the schema may read them."""
    if found is None:
        return list(rows)
    return [found.shown(r) for r in rows if not found.hides(r)]


def linked_row(
    target: ClassPlan, instance_id: str, node: NodeVersion | None, as_of: int | None
) -> NodeRow:
    """A linked id's row: its live node, or a dangling reference's stub."""
    if node is None:
        return dangling(target.class_id, instance_id, as_of, target.key)
    return row(node, as_of)


async def visible_ids(
    ctx: Context, found: Guard, link: LinkField, ids: Sequence[str], as_of: int | None
) -> set[str]:
    """The ids among `ids` of a forward link that the target's filters show."""
    target = link.target
    if not found.filters(target.class_ids):
        return set(ids)
    wanted = list(dict.fromkeys(ids))
    nodes = await loaders.nodes(ctx, target.class_ids, as_of).load_many(wanted)
    return {
        i
        for i, node in zip(wanted, nodes, strict=True)
        if not found.hides(linked_row(target, i, node, as_of))
    }


async def pruned_links(
    ctx: Context, found: Guard, plan: ClassPlan, rows: Sequence[NodeRow]
) -> list[NodeRow]:
    """The rows with the ids of hidden objects left out of their links (so that
    grouping or comparing by a link tells nothing of them)."""
    links = {k.predicate: k for k in plan.links if not k.inverse}
    kept: dict[tuple[str, int | None], set[str]] = {}
    for predicate, link in links.items():
        for as_of in {r.as_of for r in rows}:
            ids = [i for r in rows if r.as_of == as_of for i in r.linked(predicate)]
            kept[predicate, as_of] = await visible_ids(ctx, found, link, ids, as_of)
    result = []
    for r in rows:
        if r.node is None:
            result.append(r)
            continue
        shown = {
            p: [i for i in r.linked(p) if i in kept[p, r.as_of]] if p in links else v
            for p, v in r.node.links.items()
        }
        result.append(
            NodeRow(r.class_id, r.instance_id, r.as_of, replace(r.node, links=shown))
        )
    return result


def masked_figures(
    ctx: Context, plan: ClassPlan, figures: list[Figures]
) -> list[Figures]:
    """Sums, averages, least and greatest values of masked properties behind
    `Masked`: reading one is null with a FORBIDDEN error."""
    found = guard(ctx, plan)
    if found is None:
        return figures
    masked = found.masked(plan)
    labels = {
        p.python_name: p.graphql_name
        for p in numeric_properties(plan)
        if p.name in masked
    }
    if not labels:
        return figures
    owner = plan.class_id
    return [
        replace(
            f,
            sum=Masked(f.sum, labels, owner),
            avg=Masked(f.avg, labels, owner),
            min_=Masked(f.min_, labels, owner),
            max_=Masked(f.max_, labels, owner),
        )
        for f in figures
    ]


def fingerprint(ctx: Context, plan: ClassPlan) -> str:
    """The rules that apply to the plan's classes, as text: subscribers share
    a feed only with subscribers under the same rules."""
    found = guard(ctx, plan)
    if found is None:
        return ""
    rules = {
        c: [found.rules.of(c).row_filter, sorted(found.rules.of(c).masked)]
        for c in plan.class_ids
    }
    return json.dumps(rules, sort_keys=True, default=str)
