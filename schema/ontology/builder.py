"""Assembles the generated schema of one ontology version (graphql-core types).

The generated schema is built from graphql-core types directly rather than through
strawberry's decorators: strawberry turns every generated class into a dataclass
and resolves every annotation, which took ~18 s for 200 classes x 15 properties;
graphql-core objects with lazy field thunks build the same schema in well under
the 2 s budget. The types it shares with the system schema (the CommandResult
union, command enums, scalars) are still the strawberry definitions, compiled
once (schema/ontology/borrowed.py). What the fields do comes in as a `Resolvers`
bundle from the application (schema/ontology/wiring.py), so nothing here imports
the resolvers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    print_schema,
    validate_schema,
)

from domain.ontology import Ontology
from schema.ontology import shared
from schema.ontology.aggregates import declare_aggregate
from schema.ontology.graph_query import graph_query_field
from schema.ontology.inputs import declare_inputs
from schema.ontology.mutations import mutation_fields
from schema.ontology.objects import Built, ClassTypes, declare_objects
from schema.ontology.plan import SchemaPlan, plan_schema
from schema.ontology.queries import query_fields
from schema.ontology.search import search_field
from schema.ontology.subscriptions import declare_change, subscription_fields
from schema.ontology.wiring import Resolvers


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    db: str
    branch: str
    version: int
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class GeneratedSchema:
    schema: GraphQLSchema
    plan: SchemaPlan
    version: int

    def sdl(self) -> str:
        """In a stable order (the build is deterministic), so exports diff cleanly."""
        return print_schema(self.schema)


def build_generated_schema(
    ontology: Ontology, *, resolvers: Resolvers, db: str, branch: str, version: int
) -> GeneratedSchema:
    plan = plan_schema(ontology)
    built: Built = {p.class_id: ClassTypes(p) for p in plan.classes}
    for class_plan in plan.classes:
        types = built[class_plan.class_id]
        declare_objects(class_plan, types, built, resolvers)
        declare_inputs(class_plan, types, built)
        declare_aggregate(class_plan, types, group_by=resolvers.group_by)
        declare_change(class_plan, types)
    info = SchemaInfo(db=db, branch=branch, version=version, warnings=[])
    resolve_type = type_resolver(plan, built)
    _resolve_abstract_types(built, resolve_type)
    schema = GraphQLSchema(
        query=_query(plan, built, resolvers, info, resolve_type),
        mutation=_root("Mutation", mutation_fields(plan, built, resolvers)),
        subscription=_root("Subscription", subscription_fields(plan, built, resolvers)),
        types=[t.object for t in built.values() if t.object is not None],
    )
    info.warnings.extend(plan.warnings)
    # Validated here, off the request path (graphql-core caches the outcome).
    errors = validate_schema(schema)
    if errors:
        raise ValueError(f"generated schema is invalid: {errors[0].message}")
    return GeneratedSchema(schema, plan, version)


def _query(
    plan: SchemaPlan,
    built: Built,
    resolvers: Resolvers,
    info: SchemaInfo,
    resolve_type: Any,
) -> GraphQLObjectType:
    def schema_info(_root: Any, _info: Any) -> SchemaInfo:
        return info

    fields: dict[str, GraphQLField] = {
        "_schema": GraphQLField(GraphQLNonNull(shared.SchemaInfo), resolve=schema_info)
    }
    fields.update(query_fields(plan, built, resolvers))
    search = search_field(plan, built, resolve_type, search=resolvers.search)
    if search is not None:
        fields["search"] = search
    fields["graphQuery"] = graph_query_field(plan, run=resolvers.graph_query)
    return GraphQLObjectType("Query", fields)


def _root(name: str, fields: dict[str, GraphQLField]) -> GraphQLObjectType | None:
    return GraphQLObjectType(name, fields) if fields else None


def type_resolver(plan: SchemaPlan, built: Built) -> Any:
    """Which object type an instance row is, for an interface or union field: its
    class's own type, else the nearest ancestor's, else (a dangling reference to an
    abstract class) a concrete subclass's — the first that the field allows."""
    candidates: dict[str, tuple[str, ...]] = {}
    for p in plan.classes:
        chain = (p.class_id, *p.ancestors, *p.class_ids[1:])
        candidates[p.class_id] = tuple(
            obj.name
            for c in chain
            if c in built and (obj := built[c].object) is not None
        )

    def resolve(value: Any, info: Any, abstract_type: Any) -> str | None:
        schema = info.schema
        for name in candidates.get(value.class_id, ()):
            if schema.is_sub_type(abstract_type, schema.type_map[name]):
                return name
        return None

    return resolve


def _resolve_abstract_types(built: Built, resolve_type: Any) -> None:
    for types in built.values():
        if types.interface is not None:
            types.interface.resolve_type = resolve_type
