"""Operations: one trace from the HTTP request to the projections, event metadata
that carries it, and JSON log lines that name the request, principal and trace."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from app.observability.logging import bind_request, log_handler, request_id_of
from app.observability.tracing import TracedDispatcher, configure_tracing
from app.settings import Settings
from domain.commands import CommandMeta, CreateDatabase
from domain.events import EventEnvelope
from domain.ids import new_command_id
from tests.conftest import make_settings
from tests.graphql.client import RESULT, GraphQL, eventually, open_client


@pytest.fixture
def spans(tmp_path: Path) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing(make_settings("sqlite://", tmp_path), exporter=exporter)
    try:
        yield exporter
    finally:
        configure_tracing(make_settings("sqlite://", tmp_path))  # off again


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


async def _events(gql: GraphQL, db: str) -> list[EventEnvelope]:
    return await gql.container.event_store.read_positions(
        db, after_position=0, limit=100
    )


async def test_one_trace_runs_from_the_request_through_the_append_relay_and_graph(
    settings: Settings, spans: InMemorySpanExporter
) -> None:
    async with open_client(settings) as gql:
        mutation = f'mutation {{ createDatabase(name: "traced", wait: APPLIED) {{ {RESULT} }} }}'
        response = await gql.http.post(
            "/graphql", json={"query": mutation}, headers={"X-Request-Id": "req-1"}
        )
        assert (
            response.json()["data"]["createDatabase"]["__typename"] == "CommandReceipt"
        )

        async def projected() -> int:
            return len(_named(spans, "project graph"))

        await eventually(projected, lambda count: count > 0)
        events = await _events(gql, "traced")
    (request,) = _named(spans, "POST /graphql")
    (command,) = _named(spans, "command CreateDatabase")
    (append,) = _named(spans, "event_store append")
    relay = _named(spans, "relay publish")[0]
    graph = _named(spans, "project graph")[0]
    trace_id = request.context.trace_id
    for span in (command, append, relay, graph):
        assert span.context.trace_id == trace_id, span.name
    assert _parent(command) == request.context.span_id
    assert _parent(append) == command.context.span_id
    # The workers continue the trace from the traceparent stored in the events.
    assert _parent(relay) == command.context.span_id
    assert _parent(graph) == command.context.span_id
    assert events
    for event in events:
        assert event.metadata["request_id"] == "req-1"
        assert event.metadata["traceparent"].split("-")[1] == format(trace_id, "032x")


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_caller_s_traceparent_header_is_continued(
    settings: Settings, spans: InMemorySpanExporter
) -> None:
    caller_trace = "0af7651916cd43dd8448eb211c80319c"
    header = f"00-{caller_trace}-b7ad6b7169203331-01"
    async with open_client(settings) as gql:
        response = await gql.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"traceparent": header},
        )
        assert response.status_code == 200
    (request,) = _named(spans, "POST /graphql")
    assert format(request.context.trace_id, "032x") == caller_trace
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 200


async def test_a_command_stores_the_request_id_with_its_events(
    settings: Settings,
) -> None:
    # Tracing off: the request id still travels, and no trace context is invented.
    async with open_client(settings) as gql:
        dispatcher = TracedDispatcher(gql.container.handlers)
        with bind_request("req-42", "alice"):
            await dispatcher.dispatch(
                CreateDatabase(name="audited"),
                CommandMeta(command_id=new_command_id(), actor="alice"),
            )
        events = await _events(gql, "audited")
    assert events
    assert all(e.metadata == {"request_id": "req-42"} for e in events)


def test_a_json_log_line_names_the_request_the_principal_and_the_trace(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    handler = log_handler(make_settings("sqlite://", tmp_path, log_format="json"))
    stream = io.StringIO()
    handler.setStream(stream)
    log = logging.getLogger("tests.observability")
    log.addHandler(handler)
    try:
        with (
            bind_request("req-7", "bob"),
            trace.get_tracer("tests").start_as_current_span("work") as span,
        ):
            log.warning("inside %s", "the request")
        log.warning("outside")
    finally:
        log.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "inside the request"
    assert inside["request_id"] == "req-7"
    assert inside["principal"] == "bob"
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert outside["request_id"] is None
    assert outside["trace_id"] is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123_x.y", True),
        ("a" * 100, True),
        ("a" * 101, False),
        ("has space", False),
        ('{"forged": 1}', False),
        ("", False),
    ],
)
def test_a_client_request_id_is_kept_only_when_it_is_sane(
    given: str, kept: bool
) -> None:
    chosen = request_id_of({"x-request-id": given})
    assert (chosen == given) is kept
    assert len(chosen) <= 100


def test_without_a_request_id_header_a_uuid_is_made() -> None:
    assert len(request_id_of({})) == 36
