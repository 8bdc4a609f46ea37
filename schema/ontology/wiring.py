"""What a generated schema's fields do when they run, handed in by the application.

The builders in this package only shape types. The functions behind the fields
live in `resolvers/`, which reads this package's plan; so that the dependency runs
one way (resolvers -> schema), the composition root fills a `Resolvers` bundle
(app/graphql/wiring.py) and passes it to `build_generated_schema`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate

from schema.ontology.plan import ClassPlan, LinkField

ClassResolver = Callable[Concatenate[ClassPlan, ...], Awaitable[Any]]
"""`(plan, info, **arguments)` for a root field of one class, or
`(plan, object, info, **arguments)` for a field every object of the class has."""

LinkResolver = Callable[Concatenate[LinkField, ...], Awaitable[Any]]
"""`(link, object, info, **arguments)`: the objects a relationship reaches."""

LinkBatchResolver = Callable[Concatenate[LinkField, ...], Awaitable[list[Any]]]
"""`(link, objects, info, **arguments)`: for each of `objects`, what `LinkResolver`
gives it, in one call (schema/batching.py)."""

FieldResolver = Callable[..., Any]
"""graphql-core's own `(source, info, **arguments)`."""

SearchResolver = Callable[..., Awaitable[Any]]
"""`(info, *, plans, **arguments)`: full text across the classes in `plans`
(by class id and type name)."""

GraphResolver = Callable[Concatenate[Mapping[str, ClassPlan], ...], Awaitable[Any]]
"""`(plans, info, *, request)`: a graph query over the classes in `plans`."""

ClassFeed = Callable[Concatenate[ClassPlan, ...], AsyncIterator[Any]]
"""`(plan, info, **arguments)`: the events a subscription of one class yields."""

Feed = Callable[..., AsyncIterator[Any]]
"""`(info, **arguments)`: the events a subscription yields."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolvers:
    """Every resolve function the builder binds; hashable, so the types that do not
    depend on the ontology are built once per bundle (shared.meta_type)."""

    # Query root, per class.
    one: ClassResolver
    many: ClassResolver
    aggregate: ClassResolver
    # Fields of every object, of its aggregate and of its `_meta`.
    to_one: LinkResolver
    to_one_batch: LinkBatchResolver
    to_many: LinkResolver
    history: ClassResolver
    diff: ClassResolver
    group_by: FieldResolver
    data_status: FieldResolver
    index_status: FieldResolver
    # Query root, across classes.
    search: SearchResolver
    graph_query: GraphResolver
    # Mutation root, per class.
    create: ClassResolver
    update: ClassResolver
    delete: ClassResolver
    create_many: ClassResolver
    upsert_many: ClassResolver
    # Subscription root.
    command_status: Feed
    changed: ClassFeed
