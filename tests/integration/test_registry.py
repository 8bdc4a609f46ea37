"""Adapter selection by URL: the right adapter per scheme, options parsed, and
configuration errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters import registry
from adapters.errors import ConfigurationError


def test_selects_kafka_with_its_options() -> None:
    from adapters.message_bus.kafka import KafkaMessageBus

    bus = registry.open_bus("kafka://k1:9092,k2:9092?topic_prefix=prod&partitions=12")
    assert isinstance(bus, KafkaMessageBus)
    assert bus.config.bootstrap_servers == "k1:9092,k2:9092"
    assert (bus.config.topic, bus.config.partitions) == ("prod.events.v1", 12)
    assert bus.config.dead_letter_topic == "prod.events.v1.dlq"
    assert bus.config.group_id("search") == "prod.search"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("rabbit://h", "unsupported scheme"),
        ("kafka://h:1?colour=red", "unknown option"),
        ("kafka://h:1?partitions=many", "partitions"),
        ("kafka://?partitions=1", "host:port"),
        ("kafka://h:1?topic_prefix=a/b", "topic_prefix"),
    ],
    ids=["scheme", "unknown option", "bad number", "no broker", "bad prefix"],
)
def test_names_the_setting_of_a_bad_bus_url(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        registry.open_bus(url)
    assert raised.value.key == "SPICE_BUS_URL"
    assert "SPICE_BUS_URL" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "adapter"),
    [
        ("http://h:9200?prefix=spice&replicas=0", "OpenSearchSearchIndex"),
        ("https://h:9200", "OpenSearchSearchIndex"),
        ("opensearch://h:9200?tls=true", "OpenSearchSearchIndex"),
        ("elasticsearch://h:9200?refresh=false", "ElasticsearchSearchIndex"),
    ],
)
async def test_selects_a_search_cluster_by_scheme(url: str, adapter: str) -> None:
    async with registry.open_search(url) as opened:
        assert type(opened.index).__name__ == adapter
        assert opened.database is None


@pytest.mark.parametrize(
    ("url", "tls"),
    [
        ("opensearch://h:9200", False),
        ("opensearch://h:9200?tls=yes", True),
        ("https://h:1", True),
    ],
)
async def test_opensearch_urls_choose_http_or_https(url: str, tls: bool) -> None:
    async with registry.open_search(url) as opened:
        (host,) = opened.index.backend._client.transport.hosts  # type: ignore[attr-defined]
        assert bool(host.get("use_ssl")) is tls


async def test_selects_the_sqlite_index_with_its_database(tmp_path: Path) -> None:
    from adapters.search_index.sqlite_fts import SqliteFtsSearchIndex

    async with registry.open_search(f"sqlite:///{tmp_path / 's.db'}") as opened:
        assert isinstance(opened.index, SqliteFtsSearchIndex)
        assert opened.database is not None
        assert await opened.index.search("shop", ["main"]) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h:9200?prefix=Bad_Prefix", "invalid index prefix"),
        ("http://h:9200?refresh=sometimes", "refresh"),
        ("http://h:9200?shards=x", "shards"),
        ("http://h:9200?tls=perhaps", "tls"),
        ("solr://h:8983", "unsupported scheme"),
    ],
)
async def test_names_the_setting_of_a_bad_search_url(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        async with registry.open_search(url):
            pass
    assert raised.value.key == "SPICE_SEARCH_URL"


async def test_selects_a_blob_store_by_scheme(tmp_path: Path) -> None:
    from adapters.blob_store.filesystem import FilesystemBlobStore
    from adapters.blob_store.s3 import S3BlobStore

    async with registry.open_blob_store(f"file://{tmp_path}/blobs") as local:
        assert isinstance(local, FilesystemBlobStore)
        assert local.root == tmp_path / "blobs"
    url = "s3://my-bucket/spice/blobs?endpoint_url=http://127.0.0.1:1&region=eu-west-1"
    async with registry.open_blob_store(url) as remote:
        assert isinstance(remote, S3BlobStore)
        assert (remote.bucket, remote.prefix) == ("my-bucket", "spice/blobs")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://Bad_Bucket/x", "invalid bucket"),
        ("s3://bucket?acl=public", "unknown option"),
        ("ftp://h/x", "unsupported scheme"),
    ],
)
async def test_names_the_setting_of_a_bad_blob_url(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        async with registry.open_blob_store(url):
            pass
    assert raised.value.key == "SPICE_BLOB_URL"
