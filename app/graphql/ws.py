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
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.graphql.engine import Engine, Request, RequestRejected
from resolvers.context import Context

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
ContextFactory = Callable[[WebSocket], Awaitable[Context]]


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def serve(
    websocket: WebSocket, *, engine: Engine, make_context: ContextFactory
) -> None:
    if PROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.close(code=4406, reason="Subprotocol not acceptable")
        return
    await websocket.accept(subprotocol=PROTOCOL)
    session = _Session(websocket, engine, make_context)
    try:
        await session.run()
    except _Close as close:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=close.code, reason=close.reason)
    except WebSocketDisconnect:
        pass
    finally:
        await session.stop_all()


class _Session:
    def __init__(
        self, websocket: WebSocket, engine: Engine, make_context: ContextFactory
    ) -> None:
        self._ws = websocket
        self._engine = engine
        self._make_context = make_context
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
        text = await self._ws.receive_text()
        try:
            message = json.loads(text)
        except ValueError as error:
            raise _Close(4400, "Invalid message received") from error
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Close(4400, "Invalid message received")
        return message

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            if self._acknowledged:
                raise _Close(4429, "Too many initialisation requests")
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

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self._acknowledged:
            raise _Close(4401, "Unauthorized")
        operation_id, payload = message.get("id"), message.get("payload")
        if not isinstance(operation_id, str) or not isinstance(payload, dict):
            raise _Close(4400, "Invalid subscribe message")
        if operation_id in self._operations:
            raise _Close(4409, f"Subscriber for {operation_id} already exists")
        request = Request(
            query=payload.get("query"),
            variables=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        try:
            prepared = self._engine.prepare(request)
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
        except (WebSocketDisconnect, RuntimeError):
            return  # the connection went away; the session cleans up
        finally:
            self._operations.pop(operation_id, None)

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
