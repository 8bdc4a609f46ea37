"""The workers' spans for bench.lag_trace: collected in-process (embedded stack) or
by a minimal OTLP/HTTP receiver (`spice worker` processes), then matched to the
commands whose positions they handled."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan

MIN, MAX = "spice.position.min", "spice.position.max"


@dataclass(frozen=True, slots=True)
class SpanRecord:
    name: str
    start: float  # wall clock, seconds
    end: float
    first: int | None  # lowest position handled, when the span says
    last: int | None
    count: int  # events in the batch (0 when the span does not say)

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


def from_sdk(spans: Iterable[ReadableSpan]) -> list[SpanRecord]:
    """Spans an in-process exporter collected."""
    return [
        _record(s.name, s.start_time or 0, s.end_time or 0, dict(s.attributes or {}))
        for s in spans
    ]


def _record(name: str, start: int, end: int, attrs: dict[str, Any]) -> SpanRecord:
    first, last = attrs.get(MIN), attrs.get(MAX)
    return SpanRecord(
        name,
        start / 1e9,
        end / 1e9,
        None if first is None else int(first),
        None if last is None else int(last),
        int(attrs.get("messaging.batch.message_count", 0)),
    )


def _from_proto(body: bytes) -> list[SpanRecord]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    found = []
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                attrs = {
                    a.key: a.value.int_value or a.value.string_value
                    for a in span.attributes
                }
                found.append(
                    _record(
                        span.name,
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                        attrs,
                    )
                )
    return found


@asynccontextmanager
async def otlp_receiver() -> AsyncIterator[tuple[str, list[SpanRecord]]]:
    """An OTLP/HTTP endpoint on loopback: yields its URL and the list its spans
    arrive in (the workers' batch processors post them every few seconds and at
    exit). Only what the SDK's exporter sends is understood: POSTs with a length."""
    spans: list[SpanRecord] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while body := await _request_body(reader):
                spans.extend(_from_proto(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                    + f"Content-Length: {len(reply)}\r\n\r\n".encode()
                    + reply
                )
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", spans
    finally:
        server.close()
        await server.wait_closed()


async def _request_body(reader: asyncio.StreamReader) -> bytes | None:
    """The body of the next request on a kept-alive connection; None at its end."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed the connection
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (
            line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:]
        )
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return body


def by_position(spans: Sequence[SpanRecord], name: str) -> dict[int, SpanRecord]:
    """position -> the first span of that name that handled it (the earliest to
    end: a redelivered event counts where it was first handled)."""
    found: dict[int, SpanRecord] = {}
    for span in sorted(spans, key=lambda s: s.end):
        if span.name != name or span.first is None or span.last is None:
            continue
        for position in range(span.first, span.last + 1):
            found.setdefault(position, span)
    return found
