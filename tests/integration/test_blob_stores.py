"""BlobStore contract on the local directory and on S3: round trips, conditional
writes (If-None-Match on S3, 412) and key validation."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import NotFoundError
from domain.ports import BlobStore

pytestmark = pytest.mark.timeout(60)


async def test_round_trips_a_blob(blob_store: BlobStore) -> None:
    assert not await blob_store.exists("datasets/d1/v1.csv")
    assert await blob_store.put("datasets/d1/v1.csv", b"a,b\n1,2\n")
    assert await blob_store.exists("datasets/d1/v1.csv")
    assert await blob_store.get("datasets/d1/v1.csv") == b"a,b\n1,2\n"
    await blob_store.delete("datasets/d1/v1.csv")
    assert not await blob_store.exists("datasets/d1/v1.csv")
    await blob_store.delete("datasets/d1/v1.csv")  # deleting twice is fine


async def test_an_unconditional_put_replaces_the_blob(blob_store: BlobStore) -> None:
    await blob_store.put("k", b"first")
    assert await blob_store.put("k", b"second")
    assert await blob_store.get("k") == b"second"


async def test_a_conditional_put_never_replaces_an_existing_blob(
    blob_store: BlobStore,
) -> None:
    assert await blob_store.put("events/batch-1", b"first", if_absent=True)
    assert not await blob_store.put("events/batch-1", b"second", if_absent=True)
    assert await blob_store.get("events/batch-1") == b"first"


async def test_exactly_one_of_racing_conditional_puts_wins(
    blob_store: BlobStore,
) -> None:
    outcomes = await asyncio.gather(
        *(blob_store.put("race", f"{i}".encode(), if_absent=True) for i in range(6))
    )
    assert outcomes.count(True) == 1
    assert await blob_store.get("race") == str(outcomes.index(True)).encode()


async def test_a_missing_blob_is_not_found(blob_store: BlobStore) -> None:
    with pytest.raises(NotFoundError):
        await blob_store.get("nothing/here")


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../outside", "a/../../b", "a//b", "a/./b", "a\\b", "a b"],
    ids=[
        "empty",
        "absolute",
        "parent",
        "nested parent",
        "empty segment",
        "dot",
        "backslash",
        "space",
    ],
)
async def test_rejects_keys_that_could_escape_the_store(
    blob_store: BlobStore, key: str
) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        await blob_store.put(key, b"x")
    with pytest.raises(ValueError, match="invalid blob key"):
        await blob_store.get(key)
