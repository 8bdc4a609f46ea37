"""The naming plan of a generated schema: which GraphQL name each class member gets.

Resolvers read the plan to map GraphQL fields back to ontology names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.ontology import ClassDef, Family, Ontology, PropertyDef
from schema.ontology.names import (
    RESERVED_TYPE_NAMES,
    NameSpace,
    camel,
    lower_first,
    pascal,
    plural,
)

AGGREGATE_PARTS = ("Sum", "Avg", "Min", "Max")
# Root fields every generated schema has.
RESERVED_ROOT_FIELDS = ("_schema", "search", "graphQuery")
RESERVED_SUBSCRIPTIONS = ("commandStatus",)
# Families `<plural>Aggregate` sums and averages.
NUMERIC = (Family.INTEGER, Family.DECIMAL, Family.FLOAT)


@dataclass(frozen=True, slots=True)
class PropertyField:
    name: str
    graphql_name: str
    prop: PropertyDef
    is_key: bool

    @property
    def python_name(self) -> str:
        return f"p_{self.name}"


@dataclass(frozen=True, slots=True)
class LinkField:
    """A relationship field; for an inverse, `predicate` is stored on `target`'s
    instances and `name` is the inverse predicate it appears under."""

    name: str
    predicate: str
    graphql_name: str
    target: ClassPlan
    many: bool
    inverse: bool
    required: bool = False

    @property
    def python_name(self) -> str:
        return f"{'v' if self.inverse else 'r'}_{self.name}"


@dataclass(frozen=True, slots=True)
class TypeNames:
    object: str
    connection: str
    edge: str
    where: str
    order_by: str
    input: str
    patch: str
    relation_filter: str
    aggregate: str
    aggregate_parts: tuple[str, ...]  # sum, avg, min, max
    group_field: str
    change: str
    # Classes with subclasses get an interface their descendants implement.
    interface: str | None = None
    # One group of `groupBy` (named last: adding it renamed no other type).
    aggregate_group: str = ""


@dataclass(eq=False, slots=True)
class ClassPlan:
    classdef: ClassDef
    names: TypeNames
    single: str
    plural: str
    class_ids: tuple[str, ...]
    key: str | None
    properties: tuple[PropertyField, ...]
    # The hierarchy's root class: instance streams are keyed by it.
    root: str = ""
    # Ancestors nearest first: the object type implements their interfaces.
    ancestors: tuple[str, ...] = ()
    aggregate: str = ""
    changed: str = ""
    links: list[LinkField] = field(default_factory=list)
    mutations: dict[str, str] = field(default_factory=dict)
    # Every class's plan by id (shared by all plans of a schema): an object of a
    # subclass is judged by its own class's plan (access policies, row filters).
    plans: dict[str, ClassPlan] = field(default_factory=dict, repr=False)

    @property
    def class_id(self) -> str:
        return self.classdef.id

    def property_for(self, python_name: str) -> PropertyField | None:
        return next((p for p in self.properties if p.python_name == python_name), None)

    def link_for(self, python_name: str) -> LinkField | None:
        return next((k for k in self.links if k.python_name == python_name), None)

    @property
    def concrete(self) -> bool:
        return not self.classdef.abstract

    @property
    def read_type(self) -> str:
        """What fields returning this class's instances are typed as: its interface
        when subclass instances may come back, else its object type."""
        return self.names.interface or self.names.object


@dataclass(frozen=True, slots=True)
class SchemaPlan:
    classes: tuple[ClassPlan, ...]
    warnings: tuple[str, ...]


def numeric_properties(plan: ClassPlan) -> list[PropertyField]:
    """The properties the aggregate type sums and averages: single numbers."""
    return [
        p
        for p in plan.properties
        if p.prop.type.family in NUMERIC and not p.prop.type.is_array
    ]


def plans_by_name(plans: Iterable[ClassPlan]) -> dict[str, ClassPlan]:
    """Plans by class id and by object type name (a class id wins a clash), the
    two ways `search` and `graphQuery` let clients name a class."""
    found: dict[str, ClassPlan] = {}
    for plan in plans:
        found.setdefault(plan.names.object, plan)
        found[plan.class_id] = plan
    return found


def plan_schema(ontology: Ontology) -> SchemaPlan:
    """Names for every class, member, root field and mutation, deterministically
    (classes by id, members in declaration order)."""
    warnings: list[str] = []
    types = NameSpace("types", warnings, RESERVED_TYPE_NAMES)
    classdefs = sorted(ontology.classes.values(), key=lambda c: c.id)
    bases = {c.id: types.claim(pascal(c.id), owner=f"class {c.id}") for c in classdefs}
    parents = {c.parent for c in classdefs if c.parent}
    built = [
        _plan(
            ontology,
            c,
            _type_names(types, bases[c.id], interface=c.id in parents),
            warnings,
        )
        for c in classdefs
    ]
    plans = [plan for plan, _ in built]
    by_id = {p.class_id: p for p in plans}
    for plan in plans:
        plan.plans = by_id
    for plan, fields in built:
        _add_links(ontology, plan, fields, by_id, warnings)
    _root_names(plans, warnings)
    return SchemaPlan(tuple(plans), tuple(warnings))


def _type_names(types: NameSpace, base: str, *, interface: bool) -> TypeNames:
    def derived(suffix: str) -> str:
        return types.claim(base + suffix, owner=f"type {base}")

    return TypeNames(
        object=base,
        connection=derived("Connection"),
        edge=derived("Edge"),
        where=derived("Where"),
        order_by=derived("OrderBy"),
        input=derived("Input"),
        patch=derived("Patch"),
        relation_filter=derived("RelationFilter"),
        aggregate=derived("Aggregate"),
        aggregate_parts=tuple(derived(f"Aggregate{p}") for p in AGGREGATE_PARTS),
        group_field=derived("GroupField"),
        change=derived("Change"),
        interface=derived("Interface") if interface else None,
        aggregate_group=derived("AggregateGroup"),
    )


def _plan(
    ontology: Ontology, classdef: ClassDef, names: TypeNames, warnings: list[str]
) -> tuple[ClassPlan, NameSpace]:
    """The plan with its properties, and the field namespace links are named in."""
    fields = NameSpace(
        f"type {names.object}", warnings, ("id", "_meta", "_history", "_diff")
    )
    key = ontology.primary_key_of(classdef.id)
    properties = tuple(
        PropertyField(
            p.name,
            fields.claim(camel(p.name), owner=f"property {p.name}"),
            p,
            p.name == key,
        )
        for p in ontology.effective_properties(classdef.id)
    )
    ancestors = ontology.ancestors(classdef.id)
    plan = ClassPlan(
        classdef=classdef,
        names=names,
        single="",
        plural="",
        class_ids=ontology.subclasses(classdef.id),
        key=key,
        properties=properties,
        root=ancestors[-1] if ancestors else classdef.id,
        ancestors=tuple(ancestors),
    )
    return plan, fields


def _add_links(
    ontology: Ontology,
    plan: ClassPlan,
    fields: NameSpace,
    by_id: dict[str, ClassPlan],
    warnings: list[str],
) -> None:
    for rel in ontology.effective_relationships(plan.class_id):
        target = by_id.get(rel.target)
        if target is None:
            warnings.append(
                f"{plan.class_id}.{rel.predicate}: unknown target {rel.target}; omitted"
            )
            continue
        name = fields.claim(camel(rel.predicate), owner=f"relationship {rel.predicate}")
        plan.links.append(
            LinkField(
                rel.predicate,
                rel.predicate,
                name,
                target,
                rel.cardinality.to_many,
                inverse=False,
                required=rel.required,
            )
        )
    for link in ontology.inverse_relationships_of(plan.class_id):
        source = by_id.get(link.source_class)
        if source is None:
            continue
        name = fields.claim(camel(link.predicate), owner=f"inverse {link.predicate}")
        many = link.relationship.cardinality.shared_targets
        plan.links.append(
            LinkField(
                link.predicate,
                link.relationship.predicate,
                name,
                source,
                many,
                inverse=True,
            )
        )


def _root_names(plans: list[ClassPlan], warnings: list[str]) -> None:
    queries = NameSpace("Query", warnings, RESERVED_ROOT_FIELDS)
    mutations = NameSpace("Mutation", warnings)
    subscriptions = NameSpace("Subscription", warnings, RESERVED_SUBSCRIPTIONS)
    for plan in plans:
        base = lower_first(plan.names.object)
        plan.single = queries.claim(base, owner=f"class {plan.class_id}")
        plan.plural = queries.claim(plural(base), owner=f"class {plan.class_id}")
        plan.aggregate = queries.claim(
            plural(base) + "Aggregate", owner=f"class {plan.class_id}"
        )
        plan.changed = subscriptions.claim(
            base + "Changed", owner=f"class {plan.class_id}"
        )
        many = plural(plan.names.object)
        for verb, noun in (
            ("create", plan.names.object),
            ("update", plan.names.object),
            ("delete", plan.names.object),
            ("create", many),
            ("upsert", many),
        ):
            key = f"{verb}{'Many' if noun == many else ''}"
            plan.mutations[key] = mutations.claim(
                verb + noun, owner=f"class {plan.class_id}"
            )
