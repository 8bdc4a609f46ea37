"""Request errors: bad arguments that become GraphQL errors with a stable code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError


class RequestError(GraphQLError):
    """A client mistake outside the result unions (bad cursor, page too large, …).

    A GraphQLError subclass, so masking leaves its message alone.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "BAD_USER_INPUT",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        # `details` join the code in `extensions`: what a client can act on
        # without parsing the message (the input field at fault, retriable).
        extensions: dict[str, Any] = {"code": code, **(details or {})}
        super().__init__(message, extensions=extensions)
        self.code = code
