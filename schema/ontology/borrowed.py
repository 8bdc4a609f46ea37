"""Types every generated schema shares with the system schema: the mutation result
union, the command enums and events, and the custom scalars.

They are defined once, with strawberry (schema/results.py, schema/types.py,
schema/scalars.py), and compiled to graphql-core types once per process by
building a tiny strawberry schema around them; generated schemas embed those
graphql-core types as they are, so both endpoints serialise them identically and a
client fragment on `CommandReceipt` works against either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)
from strawberry.schema.config import StrawberryConfig

from schema.results import CommandResult, CommandStage
from schema.scalars import JSON, SCALAR_MAP, Date, DateTime, Decimal, Long, Time
from schema.types import CommandStatusEvent


@strawberry.type
class _Scalars:
    decimal: Decimal
    long: Long
    date_time: DateTime
    date: Date
    time: Time
    json: JSON


@strawberry.type
class _Query:
    @strawberry.field
    def result(self) -> CommandResult:  # pragma: no cover - never resolved
        raise NotImplementedError

    @strawberry.field
    def event(self, stage: CommandStage) -> CommandStatusEvent:  # pragma: no cover
        raise NotImplementedError

    @strawberry.field
    def scalars(self) -> _Scalars:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Borrowed:
    command_result: GraphQLUnionType
    command_stage: GraphQLEnumType
    command_status_event: GraphQLObjectType
    decimal: GraphQLScalarType
    long: GraphQLScalarType
    date_time: GraphQLScalarType
    date: GraphQLScalarType
    time: GraphQLScalarType
    json: GraphQLScalarType


@cache
def borrowed() -> Borrowed:
    """The graphql-core types, compiled on first use (the compiling is slow-ish and
    needs the strawberry definitions imported; nothing runs at import time)."""
    config = StrawberryConfig(scalar_map=SCALAR_MAP)
    found = strawberry.Schema(query=_Query, config=config)._schema.type_map

    def named(name: str) -> GraphQLNamedType:
        return found[name]

    return Borrowed(
        command_result=named("CommandResult"),  # type: ignore[arg-type]
        command_stage=named("CommandStage"),  # type: ignore[arg-type]
        command_status_event=named("CommandStatusEvent"),  # type: ignore[arg-type]
        decimal=named("Decimal"),  # type: ignore[arg-type]
        long=named("Long"),  # type: ignore[arg-type]
        date_time=named("DateTime"),  # type: ignore[arg-type]
        date=named("Date"),  # type: ignore[arg-type]
        time=named("Time"),  # type: ignore[arg-type]
        json=named("JSON"),  # type: ignore[arg-type]
    )
