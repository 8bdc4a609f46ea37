"""Request errors: bad arguments that become GraphQL errors with a stable code."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class RequestError(GraphQLError):
    """A client mistake outside the result unions (bad cursor, page too large, …).

    A GraphQLError subclass, so masking leaves its message alone.
    """

    def __init__(self, message: str, *, code: str = "BAD_USER_INPUT") -> None:
        extensions: dict[str, Any] = {"code": code}
        super().__init__(message, extensions=extensions)
        self.code = code
