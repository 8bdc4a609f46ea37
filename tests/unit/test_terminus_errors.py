"""The TerminusDB graph store turns the client's errors into adapters.errors:
a server that is down or refuses us is StoreUnavailable (an outage), a request
it rejects is StoreDataError, a concurrent insert is retriable."""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.errors import StoreDataError, StoreUnavailable
from adapters.graph_store.terminus.config import TerminusConfig
from domain.events import MAIN_BRANCH
from domain.ports import BranchSpan, ReadScope
from tests.factories import node_version

pytest.importorskip("terminusdb", reason="the [terminus] extra is not installed")

import requests
from terminusdb_client.errors import DatabaseError

from adapters.graph_store.terminus.errors import (
    DocumentExistsError,
    from_status,
    translated,
)
from adapters.graph_store.terminus.store import TerminusGraphStore

pytestmark = pytest.mark.timeout(30)

SCOPE = ReadScope(
    db="shop", lineage=[BranchSpan(branch=MAIN_BRANCH, until_position=None)]
)


def refusal(status: int, body: dict[str, Any]) -> DatabaseError:
    """The client's error for a server answer, built as the client builds it."""
    response = requests.Response()
    response.status_code = status
    response.headers["content-type"] = "application/json"
    response._content = json.dumps(body).encode()
    return DatabaseError(response)


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (503, "api:ServiceUnavailable", StoreUnavailable),
        (500, "api:ServerError", StoreUnavailable),
        (401, "api:IncorrectAuthenticationError", StoreUnavailable),
        (429, "api:TooManyRequests", StoreUnavailable),
        (400, "api:DocumentIdAlreadyExists", DocumentExistsError),
        (400, "api:SchemaCheckFailure", StoreDataError),
        (404, "api:UnresolvableAbsoluteDescriptor", StoreDataError),
    ],
)
def test_maps_a_server_answer_by_status_and_type(
    status: int, error_type: str, expected: type[Exception]
) -> None:
    error = refusal(
        status,
        {"api:message": "refused", "api:error": {"@type": error_type}},
    )

    mapped = from_status("insert", error)

    assert type(mapped) is expected
    assert f"({status}): refused" in str(mapped)


def test_a_concurrent_insert_is_retriable_and_data_errors_are_not() -> None:
    exists = refusal(400, {"api:error": {"@type": "api:DocumentIdAlreadyExists"}})

    assert from_status("insert", exists).retriable is True
    assert from_status("query", refusal(400, {"api:message": "bad"})).retriable is False


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (requests.ConnectionError("refused"), StoreUnavailable),
        (requests.Timeout("slow"), StoreUnavailable),
        (json.JSONDecodeError("not json", "<html>", 0), StoreDataError),
    ],
    ids=["refused", "timeout", "not json"],
)
def test_translates_transport_and_decoding_errors(
    raised: Exception, expected: type[Exception]
) -> None:
    with pytest.raises(expected) as error, translated("query"):
        raise raised

    assert error.value.__cause__ is raised


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("operation", ["put", "get_many", "count", "content_hash"])
async def test_a_server_that_is_not_there_is_store_unavailable(operation: str) -> None:
    config = TerminusConfig(server_url=f"http://127.0.0.1:{closed_port()}", timeout=2)
    store = TerminusGraphStore(config)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "put": lambda: store.put([node_version()]),
        "get_many": lambda: store.get_many(SCOPE, ["Thing"], ["a"]),
        "count": lambda: store.count(SCOPE, ["Thing"]),
        "content_hash": lambda: store.content_hash(),
    }
    try:
        with pytest.raises(StoreUnavailable) as error:
            await calls[operation]()
    finally:
        await store.close()

    assert error.value.retriable is True
    assert isinstance(error.value.__cause__, requests.ConnectionError)
