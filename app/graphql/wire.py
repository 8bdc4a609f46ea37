"""GraphQL requests off the wire, shared by HTTP, SSE and WebSocket: JSON parsed
with a nesting bound, and the request's fields checked before the engine sees them.

One place for both, so no transport can be the one that lets a hostile payload
through (the WebSocket used to parse with no bound and drop the connection).
"""

from __future__ import annotations

import json
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationType, StringValueNode, visit
from graphql.language import Visitor

from app.graphql.engine import Prepared, Request, RequestRejected
from domain.strings import nul_path

# The deepest JSON a request may hold. A JSON property value may nest 64 levels
# (domain.ontology.values.MAX_JSON_DEPTH) and sits a few levels down in the
# variables (body, variables, input, list of items, property); 100 leaves room
# for that and for recursive filters (`where: {and: [...]}`) while staying far
# below the ~1000 levels at which json.loads (and graphql-core's recursive value
# coercion, a few frames a level) exhaust Python's recursion limit.
MAX_JSON_NESTING = 100


class BadPayload(Exception):
    """The payload cannot be a GraphQL request: a message and a stable code."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.code = code


def load_json(data: str | bytes, what: str = "The request body") -> Any:
    """Parsed JSON, or BadPayload if it is malformed or nests too deeply."""
    try:
        value = json.loads(data)
    except RecursionError as error:  # json.loads gives up at ~1000 levels
        raise _too_deep(what) from error
    except (ValueError, UnicodeDecodeError) as error:
        raise BadPayload(f"{what} is not valid JSON: {error}") from error
    if _openers(data) > MAX_JSON_NESTING and nesting_exceeds(value, MAX_JSON_NESTING):
        raise _too_deep(what)
    return value


def _openers(data: str | bytes) -> int:
    # A JSON text cannot nest deeper than its count of brackets and braces: one
    # C-speed count spares the walk for almost every request.
    if isinstance(data, str):
        return data.count("[") + data.count("{")
    return data.count(b"[") + data.count(b"{")


def _too_deep(what: str) -> BadPayload:
    message = f"{what} nests deeper than {MAX_JSON_NESTING} levels."
    return BadPayload(message, "NESTING_TOO_DEEP")


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether lists and objects in `value` nest more than `limit` levels; walked
    with a stack, so any depth is safe to measure."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def request_of(payload: Any) -> Request:
    """The request a decoded JSON object (or GET parameters) carries."""
    if not isinstance(payload, dict):
        raise BadPayload("The request must be a JSON object (or a list of them).")
    query, variables = payload.get("query"), payload.get("variables")
    operation = payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise BadPayload("No GraphQL query found in the request.")
    if variables is not None and not isinstance(variables, dict):
        raise BadPayload("`variables` must be a JSON object.")
    if operation is not None and not isinstance(operation, str):
        raise BadPayload("`operationName` must be a string.")
    return Request(query=query, variables=variables, operation_name=operation)


def refuse_nul(prepared: Prepared) -> None:
    """Raises RequestRejected when a query or subscription carries a NUL (U+0000)
    in a string. No stored string holds one (writes refuse it, naming the
    property: mutations go on to that check), and PostgreSQL refuses NUL even
    as a query parameter, so such a filter or id could only end in a failure.
    """
    if prepared.operation is OperationType.MUTATION:
        return
    request = prepared.request
    if nul_path(request.variables) is None and not _nul_literal(
        request.query or "", prepared.document
    ):
        return
    message = "Strings cannot contain the NUL character (U+0000)."
    raise RequestRejected([GraphQLError(message, extensions={"code": "NUL_CHARACTER"})])


class _NulLiteral(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        self.found = self.found or "\x00" in node.value


def _nul_literal(query: str, document: DocumentNode) -> bool:
    if "\\u" not in query:  # a document can only write NUL as an escape
        return False
    visitor = _NulLiteral()
    visit(document, visitor)
    return visitor.found
