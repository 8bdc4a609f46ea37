"""Event envelope <-> row and JSON, by stable wire name; upcasters for old versions."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson

from domain.events import EventEnvelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (event_type, schema_version) -> function returning the data of the next version.
# Stored events are never rewritten; they are upcast every time they are read.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
CURRENT_SCHEMA_VERSIONS: dict[str, int] = {}


def upcast(
    event_type: str, version: int, data: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    while (step := UPCASTERS.get((event_type, version))) is not None:
        data = step(data)
        version += 1
    return version, data


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


# orjson reads integers beyond 64 bits as floats; `json` values may hold any
# integer. A run of 20 digits is the shortest text that can be one.
_LONG_DIGITS = re.compile(rb"\d{20}")


def loads_exact(text: str | bytes) -> Any:
    """JSON text as Python values, at orjson's speed (about four times the
    standard library's on node rows), and exact for every integer."""
    raw = text.encode() if isinstance(text, str) else text
    if _LONG_DIGITS.search(raw) is not None:
        return json.loads(raw)
    return orjson.loads(raw)


def dumps_exact(value: Any) -> str:
    """Python values as JSON text for the stores' JSON columns, at orjson's speed;
    what orjson refuses (integers beyond 64 bits, non-text keys) goes through the
    standard library, which writes it exactly."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


def request_hash(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def envelope_to_dict(env: EventEnvelope) -> dict[str, Any]:
    document = {
        "event_id": env.event_id,
        "event_type": env.event_type,
        "db": env.db,
        "branch": env.branch,
        "aggregate_type": env.aggregate_type,
        "aggregate_id": env.aggregate_id,
        "seq": env.seq,
        "position": env.position,
        "occurred_at": env.occurred_at.isoformat(),
        "actor": env.actor,
        "command_id": env.command_id,
        "correlation_id": env.correlation_id,
        "causation_id": env.causation_id,
        "ontology_version": env.ontology_version,
        "data": dict(env.data),
        "schema_version": env.schema_version,
    }
    # Only when present, so that an event without metadata encodes to the bytes
    # it always did: archived payloads are compared byte for byte on rewrite.
    if env.metadata:
        document["metadata"] = dict(env.metadata)
    return document


def envelope_from_dict(row: Mapping[str, Any]) -> EventEnvelope:
    version, data = upcast(
        row["event_type"], int(row["schema_version"]), dict(row["data"])
    )
    occurred = row["occurred_at"]
    return EventEnvelope(
        event_id=row["event_id"],
        event_type=row["event_type"],
        db=row["db"],
        branch=row["branch"],
        aggregate_type=row["aggregate_type"],
        aggregate_id=row["aggregate_id"],
        seq=int(row["seq"]),
        position=int(row["position"]),
        occurred_at=occurred
        if isinstance(occurred, datetime)
        else datetime.fromisoformat(occurred),
        actor=row["actor"],
        command_id=row["command_id"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        ontology_version=int(row["ontology_version"]),
        data=data,
        schema_version=version,
        metadata=_metadata_of(row.get("metadata")),
    )


def _metadata_of(value: Any) -> dict[str, str]:
    """The stored metadata as strings; absent or NULL (older events) is empty."""
    if isinstance(value, str):  # some drivers return a JSON column as text
        value = json.loads(value)
    if not isinstance(value, Mapping):
        return {}
    return {str(key): str(item) for key, item in value.items()}


def envelope_to_bytes(env: EventEnvelope) -> bytes:
    return canonical_json(envelope_to_dict(env)).encode()


def envelope_from_bytes(raw: bytes) -> EventEnvelope:
    return envelope_from_dict(json.loads(raw))
