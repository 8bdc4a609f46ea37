"""A lean HTTP/1.1 load generator for the GraphQL benchmarks.

Keep-alive connections send pre-encoded POST requests and read each response by
its Content-Length: per request the client spends a few tens of microseconds,
so on a two-core machine the server, not the client, is what gets measured
(an httpx client spends about a millisecond of CPU on every request, as much as
a fast GraphQL read costs the server).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any


def encode_post(
    host: str, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> bytes:
    """`headers`: more header lines, e.g. SPICE's `Authorization: Bearer ...`."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\n{extra}Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> bytes:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length)
    if status != b"200" or b'"errors"' in body:
        raise RuntimeError(f"request failed: {status!r} {body[:300]!r}")
    return body


async def _connection(
    host: str, port: int, requests: Iterator[bytes], latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            started = time.perf_counter()
            await _exchange(reader, writer, request)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def run(
    host: str, port: int, requests: Sequence[bytes], concurrency: int
) -> list[float]:
    """Sends every request once over `concurrency` connections; the latencies."""
    latencies: list[float] = []
    shared = iter(requests)
    await asyncio.gather(
        *(_connection(host, port, shared, latencies) for _ in range(concurrency))
    )
    return latencies


def run_blocking(
    host: str, port: int, requests: Sequence[bytes], concurrency: int
) -> list[float]:
    """For a worker process: its own event loop."""
    return asyncio.run(run(host, port, requests, concurrency))
