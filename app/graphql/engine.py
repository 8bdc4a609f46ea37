"""Runs GraphQL requests against one schema: parse and validation cached per query
text, the request limits checked before anything executes, unexpected errors
masked outside dev.

Both the system schema (strawberry-defined) and the generated schemas (built with
graphql-core) run through this one engine, so every endpoint gets the same limits,
caches, error handling and transports (HTTP, SSE, WebSocket).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    subscribe,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.execution import optimized_is_awaitable

from app.graphql import executor
from app.graphql.planning import DocumentPlans
from resolvers.context import Context
from schema.limits import Limits
from schema.protection import budget_of, limit_problems, log_rejection, page_variables

log = logging.getLogger(__name__)
T = TypeVar("T")

MASKED_MESSAGE = "Unexpected error."
UNAVAILABLE_MESSAGE = "A store is unavailable; retry later."
_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Request:
    """One GraphQL operation as a transport received it."""

    query: str | None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request that parsed, validated and passed the limits."""

    document: DocumentNode
    operation: OperationType
    request: Request
    node: OperationDefinitionNode
    lean: bool = False  # runs on app.graphql.executor
    plans: DocumentPlans | None = None  # the lean executor's, shared by requests
    cost: int = 0  # the estimated cost, charged by rate limits


class RequestRejected(Exception):
    """The request cannot run: malformed, invalid or over a limit (no data)."""

    def __init__(self, errors: list[GraphQLError], *, status: int = 400) -> None:
        super().__init__(errors[0].message if errors else "rejected")
        self.errors = errors
        self.status = status


class Admission(Protocol):
    """Limits per principal, checked as an operation starts (app/security)."""

    def charge(self, principal: str, cost: int) -> None:
        """Raises OverBudget when the principal's cost budget is spent."""
        ...

    def acquire(self, principal: str) -> None:
        """Raises TooManySubscriptions at the principal's cap."""
        ...

    def release(self, principal: str) -> None: ...


class _Lru(OrderedDict[Hashable, Any]):
    def remember(self, key: Hashable, value: Any) -> Any:
        self[key] = value
        if len(self) > _CACHE_SIZE:
            self.popitem(last=False)
        return value


class Engine:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        limits: Limits,
        dev: bool,
        executor_class: Any = None,
        lean: bool = False,
        admission: Admission | None = None,
    ) -> None:
        self.schema = schema
        self._admission = admission
        self._lean = lean
        self._limits = limits
        self._budget = budget_of(limits)
        self._dev = dev
        self._executor_class = executor_class
        self._introspection = limits.introspection
        self._rules = list(specified_rules)
        # For callers who may not introspect (SPICE_GRAPHQL_INTROSPECTION).
        self._rules_closed = [*specified_rules, NoSchemaIntrospectionCustomRule]
        self._documents = _Lru()
        self._validated = _Lru()
        self._limited = _Lru()

    def prepare(
        self,
        request: Request,
        *,
        allowed: frozenset[OperationType] | None = None,
        introspect: bool = True,
    ) -> Prepared:
        """Parses, validates and measures the request; raises RequestRejected.
        `introspect`: whether the caller's role may introspect."""
        if not request.query:
            raise RequestRejected(
                [GraphQLError("No GraphQL query found in the request.")]
            )
        document = self._parse(request.query)
        operation = _operation(document, request.operation_name)
        errors = self._validate(request.query, document, introspect)
        cost = 0
        if not errors:
            errors, cost = self._within_limits(request, document)
        if errors:
            raise RequestRejected(errors)
        kind = operation.operation
        if allowed is not None and kind not in allowed:
            message = f"{kind.value} operations are not allowed over GET."
            raise RequestRejected([GraphQLError(message)], status=405)
        lean = self._lean and self._takes(request.query, document, operation)
        plans = self._plans(request.query, document, operation) if lean else None
        return Prepared(document, kind, request, operation, lean, plans, cost)

    def _plans(
        self, query: str, document: DocumentNode, operation: OperationDefinitionNode
    ) -> DocumentPlans:
        return self._per_operation(
            "plans", query, operation, lambda: DocumentPlans(document, operation)
        )

    def _takes(
        self, query: str, document: DocumentNode, operation: OperationDefinitionNode
    ) -> bool:
        return self._per_operation(
            "lean", query, operation, lambda: executor.takes(document, operation)
        )

    def _per_operation(
        self,
        kind: str,
        query: str,
        operation: OperationDefinitionNode,
        compute: Callable[[], T],
    ) -> T:
        """What `compute` gives for one operation of one query text, computed once."""
        key = (kind, query, operation.name.value if operation.name else None)
        found: T | None = self._limited.get(key)
        if found is None:
            found = self._limited.remember(key, compute())
        return found

    def _parse(self, query: str) -> DocumentNode:
        found = self._documents.get(query)
        if found is None:
            try:
                found = parse(query, max_tokens=self._limits.max_tokens)
            except GraphQLError as error:
                found = error
                if "tokens" in error.message:
                    log_rejection(None, error.message)
            self._documents.remember(query, found)
        if isinstance(found, GraphQLError):
            raise RequestRejected([found])
        return found

    def _validate(
        self, query: str, document: DocumentNode, introspect: bool
    ) -> list[GraphQLError]:
        open_ = introspect and self._introspection
        key = (query, open_)
        found = self._validated.get(key)
        if found is None:
            rules = self._rules if open_ else self._rules_closed
            found = self._validated.remember(
                key, validate(self.schema, document, rules)
            )
        return list(found)

    def _within_limits(
        self, request: Request, document: DocumentNode
    ) -> tuple[list[GraphQLError], int]:
        """Depth, aliases, page sizes and cost; `first: $n` is measured with the
        value sent, so the cache key holds those variables' values."""
        query, variables = request.query or "", request.variables or {}
        names = self._limited.get(("vars", query))
        if names is None:
            names = self._limited.remember(("vars", query), page_variables(document))
        key = (query, tuple(repr(variables.get(n)) for n in names))
        found = self._limited.get(key)
        if found is None:
            found = self._limited.remember(
                key, limit_problems(self.schema, document, variables, self._budget)
            )
        errors, cost = found
        for error in errors:
            log_rejection(request.operation_name, error.message)
        return list(errors), cost

    async def execute(self, prepared: Prepared, context: Context) -> ExecutionResult:
        if self._admission is not None:
            self._admission.charge(context.principal.name, prepared.cost)
        try:
            return await self._execute(prepared, context)
        finally:
            # The loaders' functions close over the context, a cycle that would
            # keep every object the request loaded alive until the cyclic GC ran
            # (tens of milliseconds on a large heap); dropping them frees it all.
            context.loaders.clear()

    async def _execute(self, prepared: Prepared, context: Context) -> ExecutionResult:
        request = prepared.request
        if prepared.lean:
            return await self._execute_lean(prepared, context)
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=request.variables,
            operation_name=request.operation_name,
            executor_class=self._executor_class,
            # A fast path for plain values: most resolved values are strings.
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        return result

    async def _execute_lean(
        self, prepared: Prepared, context: Context
    ) -> ExecutionResult:
        variables = get_variable_values(
            self.schema,
            prepared.node.variable_definitions or (),
            prepared.request.variables or {},
        )
        if isinstance(variables, list):
            return ExecutionResult(None, variables)
        plans = prepared.plans or DocumentPlans(prepared.document, prepared.node)
        run = executor.Execution(self.schema, plans, prepared.node, variables, context)
        return await run.run()

    async def subscribe(
        self, prepared: Prepared, context: Context
    ) -> AsyncIterator[ExecutionResult] | ExecutionResult:
        admission = self._admission
        if admission is not None:
            admission.charge(context.principal.name, prepared.cost)
            admission.acquire(context.principal.name)
        try:
            stream = await self._subscribe(prepared, context)
        except BaseException:
            if admission is not None:
                admission.release(context.principal.name)
            raise
        if admission is None:
            return stream
        if isinstance(stream, ExecutionResult):
            admission.release(context.principal.name)
            return stream
        return _Counted(stream, admission, context.principal.name)

    async def _subscribe(
        self, prepared: Prepared, context: Context
    ) -> AsyncIterator[ExecutionResult] | ExecutionResult:
        request = prepared.request
        stream = subscribe(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=request.variables,
            operation_name=request.operation_name,
            executor_class=self._executor_class,
        )
        if isinstance(stream, Awaitable):
            stream = await stream
        return stream

    def formatted(
        self, result: ExecutionResult, operation_name: str | None = None
    ) -> dict[str, Any]:
        """The response body of a result, with unexpected errors masked."""
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [self.error(e, operation_name) for e in result.errors]
        body["data"] = result.data
        return body

    def error(self, error: GraphQLError, operation_name: str | None) -> dict[str, Any]:
        formatted = dict(error.formatted)
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return formatted
        if getattr(original, "outage", False):
            formatted["message"] = UNAVAILABLE_MESSAGE
            formatted["extensions"] = {"code": "UNAVAILABLE"}
            return formatted
        log.error(
            "graphql resolver failed (operation %s)",
            operation_name or "-",
            exc_info=original,
        )
        if not self._dev:
            formatted["message"] = MASKED_MESSAGE
            formatted.pop("extensions", None)
        return formatted


class _Counted:
    """A subscription's stream, counted against its principal's cap until it is
    closed or runs out (also when it is closed before its first event, which
    an async generator's `finally` would miss)."""

    def __init__(
        self,
        stream: AsyncIterator[ExecutionResult],
        admission: Admission,
        principal: str,
    ) -> None:
        self._stream = stream
        self._admission = admission
        self._principal = principal
        self._held = True

    def __aiter__(self) -> _Counted:
        return self

    async def __anext__(self) -> ExecutionResult:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            self._release()
            raise

    async def aclose(self) -> None:
        self._release()
        await self._stream.aclose()  # type: ignore[attr-defined]

    def _release(self) -> None:
        if self._held:
            self._held = False
            self._admission.release(self._principal)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    operations = [
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    if name is not None:
        for operation in operations:
            if operation.name is not None and operation.name.value == name:
                return operation
        raise RequestRejected([GraphQLError(f"Unknown operation named '{name}'.")])
    if len(operations) != 1:
        message = (
            "Must provide operation name if query contains multiple operations."
            if operations
            else "Must provide an operation."
        )
        raise RequestRejected([GraphQLError(message)])
    return operations[0]
