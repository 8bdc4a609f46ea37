"""Event metadata (request id, trace context) survives every serialization, and
an event without any encodes exactly as it did before metadata existed."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.serialization import (
    envelope_from_bytes,
    envelope_from_dict,
    envelope_to_bytes,
    envelope_to_dict,
)
from domain.events import EventEnvelope

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _event(**overrides: object) -> EventEnvelope:
    values: dict[str, object] = {
        "event_id": "e1",
        "event_type": "DatabaseCreated",
        "db": "shop",
        "branch": "main",
        "aggregate_type": "database",
        "aggregate_id": "shop",
        "seq": 1,
        "position": 1,
        "occurred_at": datetime(2026, 12, 9, tzinfo=UTC),
        "actor": "alice",
        "command_id": "c1",
        "correlation_id": "c1",
        "causation_id": None,
        "ontology_version": 0,
        "data": {"name": "shop"},
    }
    values.update(overrides)
    return EventEnvelope(**values)  # type: ignore[arg-type]


def test_metadata_travels_through_the_bus_bytes() -> None:
    event = _event(metadata={"request_id": "r1", "traceparent": TRACEPARENT})
    assert envelope_from_bytes(envelope_to_bytes(event)) == event


def test_an_event_without_metadata_encodes_as_before() -> None:
    document = envelope_to_dict(_event())
    assert "metadata" not in document
    assert envelope_from_dict(document).metadata == {}


def test_a_row_with_null_or_text_metadata_reads_back() -> None:
    row = envelope_to_dict(_event())
    assert envelope_from_dict({**row, "metadata": None}).metadata == {}
    text = '{"request_id": "r2"}'
    assert envelope_from_dict({**row, "metadata": text}).metadata == {
        "request_id": "r2"
    }
