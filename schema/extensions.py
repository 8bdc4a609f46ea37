"""Schema-wide settings: scalars, masking of unexpected errors outside dev."""

from __future__ import annotations

from collections.abc import Callable

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.scalars import SCALAR_MAP

MASKED_MESSAGE = "Unexpected error."


def config(**overrides: object) -> StrawberryConfig:
    return StrawberryConfig(scalar_map=SCALAR_MAP, **overrides)  # type: ignore[arg-type]


def _is_unexpected(error: GraphQLError) -> bool:
    """Parse, validation and request errors are the client's to see; an exception
    escaping a resolver is not (it may carry internals)."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _masking() -> SchemaExtension:
    return MaskErrors(should_mask_error=_is_unexpected, error_message=MASKED_MESSAGE)


def extensions(*, dev_mode: bool) -> list[Callable[[], SchemaExtension]]:
    """Outside dev, unexpected errors reach clients only as a generic message."""
    return [] if dev_mode else [_masking]
