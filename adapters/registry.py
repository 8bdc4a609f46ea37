"""Adapter selection by URL scheme (the only place that knows every adapter)."""

from __future__ import annotations

from adapters.errors import ConfigurationError
from adapters.message_bus.memory import InMemoryMessageBus
from adapters.sql_engine import SqlDatabase, open_database
from domain.ports import MessageBus


def open_bus(url: str) -> MessageBus:
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        return InMemoryMessageBus()
    if scheme == "kafka":
        raise ConfigurationError(
            "SPICE_BUS_URL", "the Kafka bus is not available in this build yet"
        )
    raise ConfigurationError("SPICE_BUS_URL", f"unsupported scheme {scheme!r}")


def open_search_database(url: str) -> SqlDatabase:
    scheme = url.split("://", 1)[0]
    if scheme != "sqlite":
        raise ConfigurationError(
            "SPICE_SEARCH_URL",
            f"search backend {scheme!r} is not available in this build yet",
        )
    return open_database(url)


def check_graph_url(url: str) -> None:
    if not url.startswith("sql://"):
        raise ConfigurationError(
            "SPICE_GRAPH_URL",
            f"graph backend {url!r} is not available in this build yet",
        )
