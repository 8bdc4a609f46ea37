"""Adapter selection by URL scheme (the only place that knows every adapter).

Production adapters are imported only when their scheme is chosen, so the
embedded default runs without the optional extras (aiokafka, opensearch-py,
elasticsearch, boto3) installed.

    SPICE_BUS_URL     memory://
                      kafka://host:port[,host:port]?topic_prefix=&partitions=
                          &replication_factor=&request_timeout_ms=&client_id=
    SPICE_SEARCH_URL  sqlite:///path/search.db
                      http(s)://host:port or opensearch://host:port  (OpenSearch)
                      elasticsearch://host:port                     (Elasticsearch)
                          ?prefix=&shards=&replicas=&refresh=&timeout=&max_retries=&tls=
    SPICE_BLOB_URL    file://path  |  s3://bucket/prefix?endpoint_url=&region=
    SPICE_EVENT_PAYLOADS_URL  (optional) the same forms as SPICE_BLOB_URL
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from adapters.errors import ConfigurationError
from adapters.message_bus.memory import InMemoryMessageBus
from adapters.search_index.document_index import DocumentSearchIndex
from adapters.sql_engine import SqlDatabase, open_database
from domain.ports import BlobStore, MessageBus, SearchIndex

BUS, SEARCH, BLOB, GRAPH = (
    "SPICE_BUS_URL",
    "SPICE_SEARCH_URL",
    "SPICE_BLOB_URL",
    "SPICE_GRAPH_URL",
)
EVENT_PAYLOADS = "SPICE_EVENT_PAYLOADS_URL"


def _flag(value: str) -> bool:
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError("expected true or false")


_KAFKA_OPTIONS: dict[str, Callable[[str], Any]] = {
    "topic_prefix": str,
    "partitions": int,
    "replication_factor": int,
    "request_timeout_ms": int,
    "client_id": str,
}
_CLUSTER_OPTIONS: dict[str, Callable[[str], Any]] = {
    "prefix": str,
    "shards": int,
    "replicas": int,
    "refresh": str,
    "timeout": float,
    "max_retries": int,
    "tls": _flag,
}
_S3_OPTIONS: dict[str, Callable[[str], Any]] = {"endpoint_url": str, "region": str}
_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class OpenedSearch:
    index: SearchIndex
    # The SQLite FTS database (health checks, rebuild); None for a search cluster.
    database: SqlDatabase | None


def open_bus(url: str) -> MessageBus:
    scheme = _scheme(url)
    if scheme == "memory":
        return InMemoryMessageBus()
    if scheme == "kafka":
        from adapters.message_bus.kafka import KafkaMessageBus
        from adapters.message_bus.kafka_common import KafkaConfig

        parts = urlsplit(url)
        options = _options(BUS, parts.query, _KAFKA_OPTIONS)
        if not parts.netloc:
            raise ConfigurationError(BUS, "kafka:// needs host:port of a broker")
        prefix = options.get("topic_prefix", "spice")
        if not _TOPIC_PREFIX.match(prefix):
            raise ConfigurationError(BUS, f"invalid topic_prefix {prefix!r}")
        return KafkaMessageBus(KafkaConfig(bootstrap_servers=parts.netloc, **options))
    raise ConfigurationError(BUS, f"unsupported scheme {scheme!r}")


@asynccontextmanager
async def open_search(url: str) -> AsyncIterator[OpenedSearch]:
    """The search index for the URL, opened; closed (and disposed) on exit."""
    scheme = _scheme(url)
    if scheme == "sqlite":
        from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex

        database = open_database(url)
        try:
            index = SqliteFtsSearchIndex(database)
            await index.open()
            yield OpenedSearch(index, database)
        finally:
            await database.dispose()
        return
    cluster = _cluster_index(url, scheme)
    try:
        yield OpenedSearch(cluster, None)
    finally:
        await cluster.close()


def _cluster_index(url: str, scheme: str) -> DocumentSearchIndex:
    parts = urlsplit(url)
    options = _options(SEARCH, parts.query, _CLUSTER_OPTIONS)
    tls = options.pop("tls", False)
    if not parts.netloc:
        raise ConfigurationError(SEARCH, f"{scheme}:// needs host:port")
    http = scheme if scheme in ("http", "https") else ("https" if tls else "http")
    endpoint = f"{http}://{parts.netloc}{parts.path.rstrip('/')}"
    try:
        if scheme == "elasticsearch":
            from adapters.search_index.elastic import ElasticsearchSearchIndex

            return ElasticsearchSearchIndex.connect(endpoint, **options)
        if scheme in ("http", "https", "opensearch"):
            from adapters.search_index.opensearch import OpenSearchSearchIndex

            return OpenSearchSearchIndex.connect(endpoint, **options)
    except ValueError as error:
        raise ConfigurationError(SEARCH, str(error)) from error
    raise ConfigurationError(SEARCH, f"unsupported scheme {scheme!r}")


@asynccontextmanager
async def open_blob_store(url: str, *, setting: str = BLOB) -> AsyncIterator[BlobStore]:
    """The blob store for the URL; `setting` names the key in configuration errors
    (SPICE_BLOB_URL, or SPICE_EVENT_PAYLOADS_URL for the event-payload store)."""
    scheme = _scheme(url)
    if scheme == "file":
        from adapters.blob_store.filesystem import FilesystemBlobStore

        root = url.split("://", 1)[1].split("?", 1)[0]
        if not root:
            raise ConfigurationError(setting, "file:// needs a directory")
        yield FilesystemBlobStore(root)
        return
    if scheme != "s3":
        raise ConfigurationError(setting, f"unsupported scheme {scheme!r}")
    from adapters.blob_store.s3 import S3BlobStore

    parts = urlsplit(url)
    options = _options(setting, parts.query, _S3_OPTIONS)
    if not _BUCKET.match(parts.netloc):
        raise ConfigurationError(setting, f"invalid bucket name {parts.netloc!r}")
    store = S3BlobStore.connect(
        parts.netloc,
        prefix=parts.path.strip("/"),
        endpoint_url=options.get("endpoint_url"),
        region=options.get("region"),
    )
    try:
        yield store
    finally:
        await store.close()


def check_graph_url(url: str) -> None:
    if not url.startswith("sql://"):
        raise ConfigurationError(
            GRAPH, f"graph backend {url!r} is not available in this build yet"
        )


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else ""


def _options(
    key: str, query: str, allowed: Mapping[str, Callable[[str], Any]]
) -> dict[str, Any]:
    """URL query options, converted; an unknown or malformed one names the setting."""
    options: dict[str, Any] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise ConfigurationError(key, f"unknown option {name!r} (known: {known})")
        try:
            options[name] = allowed[name](value)
        except ValueError as error:
            raise ConfigurationError(
                key, f"option {name}={value!r}: {error}"
            ) from error
    return options
