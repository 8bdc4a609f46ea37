"""Building strawberry types at run time: classes first, fields later (so types can
refer to each other in cycles), resolvers with a signature made from data."""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.types.field import StrawberryField

Impl = Callable[..., Awaitable[Any] | Any]


@dataclass(frozen=True, slots=True)
class Arg:
    """A GraphQL argument: a snake_case Python name (camelCased on the wire)."""

    name: str
    annotation: Any
    default: Any = strawberry.UNSET


@dataclass(frozen=True, slots=True)
class Member:
    """One field of a type being built."""

    python_name: str
    graphql_name: str
    annotation: Any
    field: StrawberryField


def list_of(item: Any) -> Any:
    """`list[item]` for a class only known at run time."""
    return list.__class_getitem__(item)


def optional(item: Any) -> Any:
    return item | None


def blank(name: str) -> type:
    """An empty class to fill later; other types may already refer to it."""
    return types.new_class(name, (), {})


def plain(
    python_name: str,
    graphql_name: str,
    annotation: Any,
    *,
    description: str | None = None,
    default: Any = strawberry.UNSET,
) -> Member:
    field = StrawberryField(
        python_name=python_name,
        graphql_name=graphql_name,
        description=description,
        default=default,
    )
    return Member(python_name, graphql_name, annotation, field)


def resolved(
    python_name: str,
    graphql_name: str,
    annotation: Any,
    impl: Impl,
    args: Sequence[Arg] = (),
    *,
    description: str | None = None,
    deprecation_reason: str | None = None,
    subscription: bool = False,
) -> Member:
    """A field whose resolver is `impl(root, info, **arguments)`."""
    field = StrawberryField(
        python_name=python_name,
        graphql_name=graphql_name,
        description=description,
        deprecation_reason=deprecation_reason,
        is_subscription=subscription,
    )
    field = field(_resolver(impl, args, annotation))
    return Member(python_name, graphql_name, annotation, field)


def _resolver(impl: Impl, args: Sequence[Arg], returns: Any) -> Callable[..., Any]:
    def resolve(root: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return impl(root, info, **kwargs)

    keyword = inspect.Parameter.KEYWORD_ONLY
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [
        inspect.Parameter("root", positional),
        inspect.Parameter("info", positional, annotation=strawberry.Info),
        *(
            inspect.Parameter(
                a.name, keyword, annotation=a.annotation, default=a.default
            )
            for a in args
        ),
    ]
    # strawberry reads arguments and the return type from the signature.
    resolve.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    if inspect.iscoroutinefunction(impl) or inspect.isasyncgenfunction(impl):
        return _async_twin(resolve, impl)
    return resolve


def _async_twin(sync: Callable[..., Any], impl: Impl) -> Callable[..., Any]:
    """Keeps the coroutine/async-generator nature visible to strawberry."""
    if inspect.isasyncgenfunction(impl):

        async def stream(root: Any, info: strawberry.Info, **kwargs: Any) -> Any:
            async for item in impl(root, info, **kwargs):
                yield item

        stream.__signature__ = sync.__signature__  # type: ignore[attr-defined]
        return stream

    async def call(root: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return await impl(root, info, **kwargs)

    call.__signature__ = sync.__signature__  # type: ignore[attr-defined]
    return call


def finish(
    cls: type,
    members: Sequence[Member],
    *,
    name: str,
    kind: str = "type",
    description: str | None = None,
) -> type:
    """Fills `cls` with its fields and makes it a strawberry type or input."""
    for member in members:
        setattr(cls, member.python_name, member.field)
    cls.__annotations__ = {m.python_name: m.annotation for m in members}
    if kind == "input":
        return strawberry.input(cls, name=name, description=description)
    return strawberry.type(cls, name=name, description=description)
