"""The graphql-transport-ws protocol (the `graphql-ws` library's protocol) over a
Starlette WebSocket: connection_init/ack, ping/pong, subscribe/next/error/complete,
with the protocol's close codes.

Every operation runs in its own task with its own context (fresh DataLoaders), and
every task is cancelled and awaited when the client completes it or disconnects,
so subscription generators always run their cleanup.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from graphql import ExecutionResult, GraphQLError, OperationType
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.graphql import wire
from app.graphql.engine import Engine, RequestRejected
from app.security.authenticator import Unauthenticated
from app.security.limits import Refused
from domain.security import Principal
from resolvers.context import Context

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
ContextFactory = Callable[[WebSocket], Awaitable[Context]]
# The Authorization value (from connection_init, else the upgrade request's
# header) → the principal; raises Unauthenticated (app/security).
Authenticate = Callable[[str | None], Awaitable[Principal]]


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def serve(
    websocket: WebSocket,
    *,
    engine: Engine | None,
    make_context: ContextFactory,
    authenticate: Authenticate,
    introspect: Callable[[Principal], bool],
) -> None:
    if PROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.close(code=4406, reason="Subprotocol not acceptable")
        return
    await websocket.accept(subprotocol=PROTOCOL)
    session = _Session(websocket, engine, make_context, authenticate, introspect)
    try:
        await session.run()
    except _Close as close:
        await _close(websocket, close.code, close.reason)
    except WebSocketDisconnect:
        pass
    except Exception:
        # Whatever went wrong, the client gets a close code rather than a
        # dropped connection it would take for a network failure.
        log.exception("graphql websocket session failed")
        await _close(websocket, 1011, "Internal error")
    finally:
        await session.stop_all()


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # A close frame carries at most 123 bytes of reason.
    short = reason.encode()[:120].decode(errors="ignore")
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=code, reason=short)


class _Session:
    def __init__(
        self,
        websocket: WebSocket,
        engine: Engine | None,
        make_context: ContextFactory,
        authenticate: Authenticate,
        introspect: Callable[[Principal], bool],
    ) -> None:
        self._ws = websocket
        # None only when the path names no database: `authenticate` then
        # closes the socket (4404) before anything can use it.
        self._engine = cast(Engine, engine)
        self._make_context = make_context
        self._authenticate = authenticate
        self._may_introspect = introspect
        self._introspect = False
        self._acknowledged = False
        self._operations: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        try:
            first = await asyncio.wait_for(self._receive(), INIT_TIMEOUT_SECONDS)
        except TimeoutError as error:
            raise _Close(4408, "Connection initialisation timeout") from error
        await self._handle(first)
        while True:
            await self._handle(await self._receive())

    async def _receive(self) -> dict[str, Any]:
        received = await self._ws.receive()
        if received["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(
                received.get("code", 1000), received.get("reason")
            )
        text = received.get("text")
        if not isinstance(text, str):  # the protocol speaks text frames only
            raise _Close(4400, "Invalid message received")
        try:
            message = wire.load_json(text, "The message")
        except wire.BadPayload as error:
            raise _Close(4400, f"Invalid message received: {error}") from error
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Close(4400, "Invalid message received")
        return message

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            if self._acknowledged:
                raise _Close(4429, "Too many initialisation requests")
            await self._authenticated(message.get("payload"))
            self._acknowledged = True
            await self._send({"type": "connection_ack"})
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            await self._stop(str(message.get("id")))
        else:
            raise _Close(4400, f"Unknown message type {kind!r}")

    async def _authenticated(self, payload: Any) -> None:
        """Browsers cannot set headers on a WebSocket: the token comes in the
        connection_init payload (a client may send the header instead). No
        credentials: 4401; credentials refused: 4403 (graphql-transport-ws)."""
        authorization = None
        if isinstance(payload, dict):
            value = payload.get("Authorization", payload.get("authorization"))
            authorization = value if isinstance(value, str) else None
        authorization = authorization or self._ws.headers.get("authorization")
        if not authorization:
            raise _Close(4401, "Unauthorized")
        try:
            principal = await self._authenticate(authorization)
        except Unauthenticated as error:
            log.warning("websocket connection refused: %s", error)
            raise _Close(4403, "Forbidden") from error
        except LookupError as error:  # the database or branch does not exist
            raise _Close(4404, str(error)) from error
        self._introspect = self._may_introspect(principal)

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self._acknowledged:
            raise _Close(4401, "Unauthorized")
        operation_id, payload = message.get("id"), message.get("payload")
        if not isinstance(operation_id, str):
            raise _Close(4400, "Invalid subscribe message")
        if operation_id in self._operations:
            raise _Close(4409, f"Subscriber for {operation_id} already exists")
        try:
            # The same checks as over HTTP: a query that is no string must not
            # reach the parser (it raised, and the connection dropped).
            request = wire.request_of(payload)
        except wire.BadPayload as error:
            raise _Close(4400, f"Invalid subscribe message: {error}") from error
        try:
            prepared = self._engine.prepare(request, introspect=self._introspect)
            wire.refuse_nul(prepared)
        except RequestRejected as rejected:
            errors = [e.formatted for e in rejected.errors]
            await self._send({"id": operation_id, "type": "error", "payload": errors})
            return
        task = asyncio.create_task(self._operate(operation_id, prepared))
        self._operations[operation_id] = task

    async def _operate(self, operation_id: str, prepared: Any) -> None:
        try:
            context = await self._make_context(self._ws)
            if prepared.operation is OperationType.SUBSCRIPTION:
                await self._stream(operation_id, prepared, context)
            else:
                result = await self._engine.execute(prepared, context)
                await self._next(operation_id, result, prepared)
            await self._send({"id": operation_id, "type": "complete"})
        except Refused as refused:  # a limit of the principal's: the socket stays
            payload = [refused.as_graphql_error().formatted]
            await self._send({"id": operation_id, "type": "error", "payload": payload})
        except (WebSocketDisconnect, RuntimeError):
            return  # the connection went away; the session cleans up
        except Exception as error:  # a subscription's source failed mid-stream
            await self._failed(operation_id, prepared, error)
        finally:
            self._operations.pop(operation_id, None)

    async def _failed(self, operation_id: str, prepared: Any, error: Exception) -> None:
        """The operation ends with an `error` message (never a silent stop);
        unexpected errors are masked as everywhere else."""
        located = (
            error
            if isinstance(error, GraphQLError)
            else GraphQLError(str(error), original_error=error)
        )
        payload = [self._engine.error(located, prepared.request.operation_name)]
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self._send({"id": operation_id, "type": "error", "payload": payload})

    async def _stream(self, operation_id: str, prepared: Any, context: Context) -> None:
        stream = await self._engine.subscribe(prepared, context)
        if isinstance(stream, ExecutionResult):
            errors = [self._engine.error(e, prepared.request.operation_name)
                      for e in stream.errors or [GraphQLError("subscription failed")]]  # fmt: skip
            await self._send({"id": operation_id, "type": "error", "payload": errors})
            return
        try:
            async for result in stream:
                await self._next(operation_id, result, prepared)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    async def _next(
        self, operation_id: str, result: ExecutionResult, prepared: Any
    ) -> None:
        payload = self._engine.formatted(result, prepared.request.operation_name)
        await self._send({"id": operation_id, "type": "next", "payload": payload})

    async def _send(self, message: dict[str, Any]) -> None:
        await self._ws.send_text(
            json.dumps(message, separators=(",", ":"), default=str)
        )

    async def _stop(self, operation_id: str) -> None:
        task = self._operations.pop(operation_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def stop_all(self) -> None:
        for operation_id in list(self._operations):
            await self._stop(operation_id)
