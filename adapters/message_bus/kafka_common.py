"""Kafka pieces shared by the bus and its subscriptions: config, keys, headers, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka.errors import CommitFailedError, KafkaError

from adapters.errors import StoreError, StoreUnavailable
from domain.events import EventEnvelope

_MAX_HEADER_TEXT = 2000

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True, kw_only=True)
class KafkaConfig:
    """Where the bus lives; `topic_prefix` namespaces topics and consumer groups."""

    bootstrap_servers: str
    topic_prefix: str = "spice"
    partitions: int = 6
    replication_factor: int = 1
    request_timeout_ms: int = 30_000
    client_id: str = "spice"
    # Consumer groups: how long the coordinator waits for a silent member (a
    # worker killed with -9) before it hands the member's partitions to others.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    # Static membership (KIP-345): a worker restarted with the same id takes its
    # partitions back at once instead of waiting out the session timeout. It must
    # be unique per process within each group (several processes of one worker
    # need one id each); a static member does not leave its group on shutdown.
    group_instance_id: str | None = None
    # Fetch batching: the broker answers a consumer's fetch once this many bytes
    # are ready or the wait is over. Every batch costs a consumer a fixed handful
    # of database round trips (tracking, checkpoint, stage) and an offset commit,
    # so under load a short wait buys fewer, larger batches for little latency;
    # with aiokafka's defaults (1 byte) every few events make a batch of their own.
    fetch_min_bytes: int = 64 * 1024
    fetch_max_wait_ms: int = 100

    @property
    def topic(self) -> str:
        return f"{self.topic_prefix}.events.v1"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}.dlq"

    def group_id(self, group: str) -> str:
        return f"{self.topic_prefix}.{group}"


def message_key(envelope: EventEnvelope) -> bytes:
    """Every event of a stream goes to one partition, so per-aggregate order holds."""
    e = envelope
    return f"{e.db}/{e.branch}/{e.aggregate_type}/{e.aggregate_id}".encode()


def event_headers(envelope: EventEnvelope) -> Headers:
    return [
        ("event_id", envelope.event_id.encode()),
        ("event_type", envelope.event_type.encode()),
        ("position", str(envelope.position).encode()),
        ("db", envelope.db.encode()),
    ]


def error_headers(error: BaseException) -> Headers:
    return [
        ("error_class", type(error).__name__.encode()),
        ("error_message", str(error)[:_MAX_HEADER_TEXT].encode()),
    ]


@asynccontextmanager
async def translated(action: str) -> AsyncIterator[None]:
    """aiokafka errors -> adapters.errors (B6): transient ones become StoreUnavailable."""
    try:
        yield
    except (CommitFailedError, StoreError):
        raise
    except KafkaError as error:
        if getattr(error, "retriable", False) or _is_transport(error):
            raise StoreUnavailable(f"kafka {action} failed: {error!r}") from error
        raise StoreError(f"kafka {action} failed: {error!r}") from error
    except (OSError, TimeoutError) as error:
        raise StoreUnavailable(f"kafka {action} failed: {error!r}") from error


def _is_transport(error: KafkaError) -> bool:
    # KafkaTimeoutError and KafkaUnavailableError are not marked retriable by
    # aiokafka, but a broker that does not answer in time is "unavailable" to us.
    return type(error).__name__ in {
        "KafkaTimeoutError",
        "KafkaUnavailableError",
        "RequestTimedOutError",
        "BrokerNotAvailableError",
        "NoBrokersAvailable",
    }
