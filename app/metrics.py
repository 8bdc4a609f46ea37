"""Prometheus metrics at GET /metrics: GraphQL traffic and latency, schema
builds, and, read from the stores at each scrape, projection lag and dead
letters. Each application has its own registry (nothing global, nothing at
import time)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import Message, Receive, Scope, Send

from app.bootstrap import WORKER_NAMES, Container

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "spice_graphql_requests",
            "GraphQL HTTP requests by endpoint kind and status class.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "spice_graphql_request_seconds",
            "Time to answer a GraphQL HTTP request.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.lag = Gauge(
            "spice_projection_lag_events",
            "Committed events a consumer has not checkpointed yet, per database.",
            ["consumer", "db"],
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "spice_dead_letters",
            "Dead letters per consumer and status.",
            ["consumer", "status"],
            registry=self.registry,
        )
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.graph_calls = Gauge(
            "spice_graph_store_calls",
            "Graph store port calls since the process started (each a batch).",
            registry=self.registry,
        )

    async def observe(self, endpoint: str, app: ASGI, scope: Scope, receive: Receive, send: Send) -> None:  # fmt: skip
        """Runs `app` for one HTTP request and records its status and time."""
        status = {"code": 500}

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await app(scope, receive, recording)
        finally:
            self._child(self.latency, endpoint).observe(time.perf_counter() - started)
            self._child(self.requests, endpoint, f"{status['code'] // 100}xx").inc()

    def _child(self, metric: Any, *labels: str) -> Any:
        """`metric.labels(*labels)`, looked up once: prometheus_client takes a
        lock and builds a key on every call, about 10 µs, a twentieth of a
        by-id read."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    async def exposition(self, container: Container) -> bytes:
        await self._refresh(container)
        return generate_latest(self.registry)

    async def _refresh(self, container: Container) -> None:
        last = await container.event_store.last_positions()
        state = container.consumer_state
        for consumer in WORKER_NAMES[1:]:
            checkpoints = await state.checkpoints(consumer)
            for db, position in last.items():
                self.lag.labels(consumer, db).set(position - checkpoints.get(db, 0))
        self.dead_letters.clear()
        for letter in await state.dead_letters(None, status=None):
            self.dead_letters.labels(letter.consumer, letter.status).inc()
        self.graph_calls.set(_calls(container.graph))


def _calls(graph: Any) -> int:
    return int(getattr(graph, "calls", 0))
