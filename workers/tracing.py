"""Spans of the workers, continuing the traces of the requests behind the events.

A command stores its W3C trace context in each event's metadata
(app/observability/tracing.py). A worker handles events in batches that mix
commands, so a batch gets one span (not one per event: a projection batch holds
up to a thousand): a child of the first traced event's context, linked to the
contexts of the other commands in it (the OpenTelemetry messaging conventions
for batch processing). With tracing off no event carries a context and the span
is the API's shared no-op span.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from domain.events import EventEnvelope

_tracer = trace.get_tracer("spice.workers")
_propagator = TraceContextTextMapPropagator()
# Links beyond this many commands add little to a trace view and cost per batch.
MAX_LINKS = 32


@contextmanager
def batch_span(
    name: str, events: Sequence[EventEnvelope], *, kind: SpanKind = SpanKind.CONSUMER
) -> Iterator[Span]:
    """The current span while a worker handles `events`."""
    contexts = _trace_contexts(events)
    parent = contexts[0] if contexts else None
    links = [
        Link(trace.get_current_span(c).get_span_context())
        for c in contexts[1 : MAX_LINKS + 1]
    ]
    with _tracer.start_as_current_span(
        name, context=parent, kind=kind, links=links
    ) as span:
        mark_batch(span, events)
        yield span


@contextmanager
def stage_span(name: str) -> Iterator[Span]:
    """A step inside the current batch span (or a root when there is none), so a
    trace shows where a batch's time goes: read, store write, tracking, commit."""
    with _tracer.start_as_current_span(name, kind=SpanKind.INTERNAL) as span:
        yield span


def mark_batch(span: Span, events: Sequence[EventEnvelope]) -> None:
    """Records which events a span handled (a read learns them only at its end)."""
    if span.is_recording():
        span.set_attributes(_batch(events))


def _batch(events: Sequence[EventEnvelope]) -> dict[str, int]:
    """The batch's size and position range: bench.lag_trace matches a command's
    position to the spans that handled it."""
    attributes = {"messaging.batch.message_count": len(events)}
    if events:
        positions = [e.position for e in events]
        attributes["spice.position.min"] = min(positions)
        attributes["spice.position.max"] = max(positions)
    return attributes


def _trace_contexts(events: Sequence[EventEnvelope]) -> list[Context]:
    """One context per distinct traceparent, in event order."""
    seen: set[str] = set()
    contexts = []
    for event in events:
        traceparent = event.metadata.get("traceparent")
        if traceparent is None or traceparent in seen:
            continue
        seen.add(traceparent)
        contexts.append(_propagator.extract(event.metadata))
    return contexts
