"""The timed reads: each answer checked first, then timed from a load process
(bench.load's keep-alive client) so that the client is not what is measured."""

from __future__ import annotations

import random
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench import load
from bench.common import percentile
from bench.peer.servers import Server
from bench.peer.shape import (
    PEER_BY_ID,
    PEER_HOPS,
    SPICE_BY_ID,
    SPICE_HOPS,
    check_hops,
    counts,
    hop_roots,
)

HOP_REQUESTS = 10  # per run, one client
BY_ID_REQUESTS = 2_000  # per run and concurrency
WARM_UP = 20
CHECKED_IDS = 50


@dataclass(frozen=True, slots=True)
class Reads:
    """What one server is asked: the bodies of both reads."""

    server: Server
    peer: bool
    hops: dict[str, Any]
    by_id: list[dict[str, Any]]


def reads(server: Server, scale: int, *, peer: bool, seed: int = 7) -> Reads:
    """The same random product ids for every server (the same seed)."""
    rng = random.Random(seed)
    products = counts(scale)["Product"]
    query = PEER_BY_ID if peer else SPICE_BY_ID
    by_id = [
        {"query": query, "variables": {"id": f"p{rng.randrange(products)}"}}
        for _ in range(BY_ID_REQUESTS)
    ]
    hops = {"query": PEER_HOPS if peer else SPICE_HOPS}
    return Reads(server, peer, hops, by_id)


def load_process() -> ProcessPoolExecutor:
    """The process the load client runs in. It ignores Ctrl-C: the benchmark
    stops it once its current batch is sent, then stops the servers."""
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=get_context("spawn"),
        initializer=signal.signal,
        initargs=(signal.SIGINT, signal.SIG_IGN),
    )


def answer(server: Server, body: dict[str, Any], url: str | None = None) -> Any:
    """The data of one request to the server's endpoint (or `url`); aborts on errors."""
    url = url or server.url
    found = httpx.post(url, json=body, headers=server.headers, timeout=600).json()
    if found.get("errors") or not found.get("data"):
        raise SystemExit(f"{url}: {found}")
    return found["data"]


def verify(reads: Reads, scale: int) -> None:
    """Aborts unless the 3-hop read returns every root with all three hops as the
    data defines them, and by-id reads return the product asked for."""
    roots = hop_roots(answer(reads.server, reads.hops), peer=reads.peer)
    problem = check_hops(roots, scale, peer=reads.peer)
    if problem:
        raise SystemExit(f"{reads.server.label}: wrong 3-hop answer: {problem}")
    verify_by_id(reads)


def verify_by_id(reads: Reads) -> None:
    field = "productById" if reads.peer else "product"
    for body in reads.by_id[:CHECKED_IDS]:
        wanted = body["variables"]["id"]
        found = answer(reads.server, body)[field]
        if not found or found["name"] != f"product name {wanted[1:]}":
            raise SystemExit(f"{reads.server.label}: product {wanted} read as {found}")


def _timed(server: Server, bodies: list[dict[str, Any]], concurrency: int, warm_up: int) -> tuple[float, list[float]]:  # fmt: skip
    """In the load process: (elapsed seconds, latencies) of sending every body,
    after `warm_up` of them untimed."""
    parts = urlsplit(server.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [load.encode_post(host, parts.path, b, server.headers) for b in bodies]
    load.run_blocking(host, port, requests[:warm_up], concurrency)
    started = time.perf_counter()
    latencies = load.run_blocking(host, port, requests, concurrency)
    return time.perf_counter() - started, latencies


def hops_p50(pool: ProcessPoolExecutor, reads: Reads) -> float:
    bodies = [reads.hops] * HOP_REQUESTS
    _, latencies = pool.submit(_timed, reads.server, bodies, 1, 2).result()
    return percentile(latencies, 0.5)


def by_id_rate(pool: ProcessPoolExecutor, reads: Reads, concurrency: int) -> float:
    elapsed, latencies = pool.submit(
        _timed, reads.server, reads.by_id, concurrency, WARM_UP
    ).result()
    return len(latencies) / elapsed
