"""Schema-wide settings: scalars, masking of unexpected errors outside dev."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.config import BatchingConfig, StrawberryConfig

from resolvers.context import Limits
from schema.protection import Protection
from schema.scalars import SCALAR_MAP

MASKED_MESSAGE = "Unexpected error."


def config(limits: Limits, **overrides: Any) -> StrawberryConfig:
    # A JSON list body runs as a batch of at most `max_batch` operations.
    batching: BatchingConfig | None = (
        {"max_operations": limits.max_batch} if limits.max_batch > 0 else None
    )
    return StrawberryConfig(
        scalar_map=SCALAR_MAP, batching_config=batching, **overrides
    )


def _is_unexpected(error: GraphQLError) -> bool:
    """Parse, validation and request errors are the client's to see; an exception
    escaping a resolver is not (it may carry internals)."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _masking() -> SchemaExtension:
    return MaskErrors(should_mask_error=_is_unexpected, error_message=MASKED_MESSAGE)


def extensions(
    *, dev_mode: bool, limits: Limits
) -> list[Callable[[], SchemaExtension]]:
    """Limits always; outside dev, unexpected errors reach clients only as a
    generic message."""

    def tokens() -> SchemaExtension:
        return MaxTokensLimiter(max_token_count=limits.max_tokens)

    def protection() -> SchemaExtension:
        return Protection(limits=limits)

    found: list[Callable[[], SchemaExtension]] = [tokens, protection]
    if not limits.introspection:
        found.append(DisableIntrospection)
    return found if dev_mode else [*found, _masking]
