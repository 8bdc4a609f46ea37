"""SPICE_GRAPH_URL: the SQL graph store or TerminusDB, options parsed, and
configuration errors that name the setting (no server needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters import registry
from adapters.errors import ConfigurationError
from adapters.graph_store.sql import SqlGraphStore
from adapters.sql_engine import SqlDatabase, open_database
from app.settings import Settings


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqlDatabase]:
    opened = open_database(f"sqlite:///{tmp_path / 'spice.db'}")
    yield opened
    await opened.dispose()


def test_parses_a_terminusdb_url_with_every_option() -> None:
    config = registry.terminus_config(
        "terminusdb://alice:s%40cret@tdb.example:6363/base/"
        "?team=acme&prefix=prod&timeout=5&tls=true"
    )

    assert config.server_url == "https://tdb.example:6363/base"
    assert (config.user, config.key) == ("alice", "s@cret")
    assert (config.team, config.prefix, config.timeout) == ("acme", "prod", 5.0)
    assert "s@cret" not in repr(config)


def test_a_bare_terminusdb_url_takes_the_defaults() -> None:
    config = registry.terminus_config("terminusdb://127.0.0.1:6363")

    assert config.server_url == "http://127.0.0.1:6363"
    assert (config.user, config.key, config.team) == ("admin", "root", "admin")
    assert (config.prefix, config.timeout) == ("spice", 30.0)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("terminusdb://h:6363?colour=red", "unknown option 'colour'"),
        ("terminusdb://h:6363?timeout=soon", "timeout"),
        ("terminusdb://h:6363?timeout=0", "positive"),
        ("terminusdb://h:6363?tls=perhaps", "tls"),
        ("terminusdb://h:6363?prefix=my_app", "invalid prefix"),
        ("terminusdb://h:6363?prefix=Prod", "invalid prefix"),
        ("terminusdb://h:6363?team=a/b", "invalid team"),
        ("terminusdb://:6363", "needs host"),
        ("terminusdb://h:99999", "invalid port"),
        ("sql://elsewhere", "sql:// takes no host"),
        ("neo4j://h:7687", "unsupported scheme 'neo4j'"),
    ],
    ids=[
        "unknown option",
        "bad timeout",
        "zero timeout",
        "bad flag",
        "prefix with _",
        "prefix in capitals",
        "bad team",
        "no host",
        "bad port",
        "sql with a host",
        "scheme",
    ],
)
def test_names_the_setting_of_a_bad_graph_url(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        registry.check_graph_url(url)

    assert raised.value.key == "SPICE_GRAPH_URL"
    assert str(raised.value).startswith("setting SPICE_GRAPH_URL: ")


async def test_opening_a_bad_graph_url_fails_before_anything_opens(
    database: SqlDatabase,
) -> None:
    with pytest.raises(ConfigurationError, match="invalid prefix") as raised:
        async with registry.open_graph("terminusdb://h?prefix=a_b", database=database):
            pass

    assert raised.value.key == "SPICE_GRAPH_URL"


async def test_sql_selects_the_sql_graph_store(database: SqlDatabase) -> None:
    registry.check_graph_url("sql://")

    async with registry.open_graph("sql://", database=database) as store:
        assert isinstance(store, SqlGraphStore)


async def test_terminusdb_selects_the_terminus_store_without_connecting(
    database: SqlDatabase,
) -> None:
    pytest.importorskip("terminusdb", reason="the [terminus] extra is not installed")
    from adapters.graph_store.terminus.store import TerminusGraphStore

    # Nothing listens there: opening and closing must not need the server.
    url = "terminusdb://127.0.0.1:9?prefix=edge"
    async with registry.open_graph(url, database=database) as store:
        assert isinstance(store, TerminusGraphStore)
        assert store.config.prefix == "edge"
        assert store.config.server_url == "http://127.0.0.1:9"


def test_settings_accept_a_terminusdb_graph_url() -> None:
    settings = Settings(graph_url="terminusdb://tdb:6363?prefix=prod")

    assert settings.graph_url == "terminusdb://tdb:6363?prefix=prod"
