"""GraphQL over Server-Sent Events ("distinct connections" mode): one operation per
request; each result is an `event: next`, the end an `event: complete`.

A subscription streams until it completes or the client goes away; queries and
mutations send one `next`. A comment line every few seconds keeps proxies from
closing an idle stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType
from starlette.types import Receive, Scope, Send

from app.graphql import wire
from app.graphql.engine import Engine, Request, RequestRejected
from app.security.limits import Refused
from resolvers.context import Context

KEEP_ALIVE_SECONDS = 12.0


async def serve(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    engine: Engine,
    request: Request,
    context: Context,
    allowed: frozenset[OperationType] | None,
    introspect: bool = True,
) -> None:
    del scope
    try:
        prepared = engine.prepare(request, allowed=allowed, introspect=introspect)
        wire.refuse_nul(prepared)
    except RequestRejected as rejected:
        await _start(send, 400 if rejected.status != 405 else 405)
        errors = {"errors": [e.formatted for e in rejected.errors]}
        await _event(send, "next", errors)
        await _event(send, "complete", None, more=False)
        return
    await _start(send, 200)
    stream = _results(engine, prepared, context)
    pump = asyncio.ensure_future(_pump(send, engine, stream, request))
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pump, gone):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        await stream.aclose()


async def _results(
    engine: Engine, prepared: Any, context: Context
) -> AsyncGenerator[ExecutionResult, None]:
    try:
        if prepared.operation is not OperationType.SUBSCRIPTION:
            yield await engine.execute(prepared, context)
            return
        stream = await engine.subscribe(prepared, context)
    except Refused as refused:  # a limit of the principal's
        yield ExecutionResult(None, [refused.as_graphql_error()])
        return
    if isinstance(stream, ExecutionResult):
        yield stream
        return
    try:
        async for result in stream:
            yield result
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


async def _pump(
    send: Send,
    engine: Engine,
    stream: AsyncIterator[ExecutionResult],
    request: Request,
) -> None:
    """Sends each result as it comes, and a keep-alive comment when none came for
    a while. The stream runs in its own task: a timeout must not cancel it."""
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
    producer = asyncio.ensure_future(_produce(stream, queue))
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                await send(
                    {"type": "http.response.body", "body": b":\n\n", "more_body": True}
                )
                continue
            if item is _END:
                break
            await _event(send, "next", engine.formatted(item, request.operation_name))
        await _event(send, "complete", None, more=False)
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


_END = object()


async def _produce(
    stream: AsyncIterator[ExecutionResult], queue: asyncio.Queue[Any]
) -> None:
    try:
        async for result in stream:
            await queue.put(result)
    except Exception as error:
        await queue.put(
            ExecutionResult(None, [GraphQLError(str(error), original_error=error)])
        )
    await queue.put(_END)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        continue


async def _start(send: Send, status: int) -> None:
    headers = [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def _event(send: Send, name: str, data: Any, *, more: bool = True) -> None:
    payload = (
        "" if data is None else json.dumps(data, separators=(",", ":"), default=str)
    )
    chunk = f"event: {name}\ndata: {payload}\n\n".encode()
    await send({"type": "http.response.body", "body": chunk, "more_body": more})
