"""Adapter selection by URL scheme (the only place that knows every adapter).

Production adapters are imported only when their scheme is chosen, so the
embedded default runs without the optional extras (aiokafka, opensearch-py,
elasticsearch, boto3) installed.

    SPICE_BUS_URL     memory://
                      kafka://host:port[,host:port]?topic_prefix=&partitions=
                          &replication_factor=&request_timeout_ms=&client_id=
                          &session_timeout_ms=&heartbeat_interval_ms=&group_instance_id=
                          &fetch_min_bytes=&fetch_max_wait_ms=
    SPICE_SEARCH_URL  sqlite:///path/search.db
                      http(s)://host:port or opensearch://host:port  (OpenSearch)
                      elasticsearch://host:port                     (Elasticsearch)
                          ?prefix=&shards=&replicas=&refresh=&refresh_interval=
                          &timeout=&max_retries=&tls=
    SPICE_BLOB_URL    file://path  |  s3://bucket/prefix?endpoint_url=&region=
    SPICE_EVENT_PAYLOADS_URL  (optional) the same forms as SPICE_BLOB_URL
    SPICE_GRAPH_URL   sql://  (the SQL graph store, on SPICE_DATABASE_URL)
                      terminusdb://[user[:key]@]host[:port][/path]
                          ?team=&prefix=&timeout=&tls=   (the [terminus] extra)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from adapters.errors import ConfigurationError
from adapters.graph_store.sql import SqlGraphStore
from adapters.graph_store.terminus.config import (
    DEFAULT_KEY,
    DEFAULT_USER,
    TerminusConfig,
)
from adapters.message_bus.memory import InMemoryMessageBus
from adapters.search_index.document_index import DocumentSearchIndex
from adapters.sql_engine import SqlDatabase, open_database
from domain.ports import BlobStore, MessageBus, SearchIndex

if TYPE_CHECKING:
    from adapters.graph_store.terminus.store import TerminusGraphStore

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
    "session_timeout_ms": int,
    "heartbeat_interval_ms": int,
    "group_instance_id": str,
    "fetch_min_bytes": int,
    "fetch_max_wait_ms": int,
}
_CLUSTER_OPTIONS: dict[str, Callable[[str], Any]] = {
    "prefix": str,
    "shards": int,
    "replicas": int,
    "refresh": str,
    "refresh_interval": str,
    "timeout": float,
    "max_retries": int,
    "tls": _flag,
}
_S3_OPTIONS: dict[str, Callable[[str], Any]] = {"endpoint_url": str, "region": str}
_TERMINUS_OPTIONS: dict[str, Callable[[str], Any]] = {
    "team": str,
    "prefix": str,
    "timeout": float,
    "tls": _flag,
}
# No `_` in a prefix: it separates the prefix from the database (names.py).
_TERMINUS_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,29}$")
_TERMINUS_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
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
    """Validates SPICE_GRAPH_URL without connecting or importing a driver."""
    scheme = _scheme(url)
    if scheme == "sql":
        if url != "sql://":
            raise ConfigurationError(GRAPH, "sql:// takes no host, path or options")
        return
    if scheme == "terminusdb":
        terminus_config(url)
        return
    raise ConfigurationError(GRAPH, f"unsupported scheme {scheme!r}")


def terminus_config(url: str) -> TerminusConfig:
    """terminusdb://[user[:key]@]host[:port][/path]?team=&prefix=&timeout=&tls=
    (without credentials, TerminusDB's default admin/root)."""
    parts = urlsplit(url)
    options = _options(GRAPH, parts.query, _TERMINUS_OPTIONS)
    if not parts.hostname:
        raise ConfigurationError(GRAPH, "terminusdb:// needs host[:port] of a server")
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError as error:
        raise ConfigurationError(GRAPH, f"invalid port: {error}") from error
    http = "https" if options.pop("tls", False) else "http"
    server_url = f"{http}://{parts.hostname}{port}{parts.path.rstrip('/')}"
    config = TerminusConfig(
        server_url=server_url,
        user=unquote(parts.username) if parts.username else DEFAULT_USER,
        key=unquote(parts.password) if parts.password is not None else DEFAULT_KEY,
        **options,
    )
    _check_terminus(config)
    return config


def _check_terminus(config: TerminusConfig) -> None:
    if not _TERMINUS_PREFIX.match(config.prefix):
        raise ConfigurationError(
            GRAPH, f"invalid prefix {config.prefix!r} (a-z then a-z0-9, no '_')"
        )
    if not _TERMINUS_TEAM.match(config.team):
        raise ConfigurationError(GRAPH, f"invalid team {config.team!r}")
    if not config.timeout > 0:
        raise ConfigurationError(GRAPH, "timeout must be a positive number of seconds")


@asynccontextmanager
async def open_graph(
    url: str, *, database: SqlDatabase
) -> AsyncIterator[SqlGraphStore | TerminusGraphStore]:
    """The graph store for SPICE_GRAPH_URL: the SQL graph store on `database`
    (sql://) or a TerminusDB server (terminusdb://); closed on exit."""
    check_graph_url(url)
    if _scheme(url) == "sql":
        yield SqlGraphStore(database)
        return
    if find_spec("terminusdb") is None:
        raise ConfigurationError(
            GRAPH,
            "terminusdb:// needs the TerminusDB client: pip install 'spice[terminus]'",
        )
    from adapters.graph_store.terminus.store import TerminusGraphStore

    store = TerminusGraphStore(terminus_config(url))
    try:
        yield store
    finally:
        await store.close()


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
