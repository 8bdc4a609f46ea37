"""BlobStore contract on the local directory and on S3: round trips of bytes and of
files (streamed; multipart on S3), conditional writes (If-None-Match on S3, 412) and
key validation."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

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
    with pytest.raises(ValueError, match="invalid blob key"):
        await blob_store.get_file(key, Path("unused"))


# Files: streamed both ways. The S3 fixture's parts are 5 MiB, so "multipart"
# (12 MiB) goes up in three parts and "single" in one PUT.
FILE_SIZES = pytest.mark.parametrize(
    "size", [1_000, 12 * 1024 * 1024 + 7], ids=["single", "multipart"]
)


def a_file(directory: Path, name: str, size: int, *, seed: int = 0) -> Path:
    path = directory / name
    block = hashlib.sha256(f"{seed}".encode()).digest() * 4096  # 128 KiB
    with path.open("wb") as out:
        for start in range(0, size, len(block)):
            out.write(block[: size - start])
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@FILE_SIZES
async def test_a_file_round_trips_streamed(
    blob_store: BlobStore, tmp_path: Path, size: int
) -> None:
    source = a_file(tmp_path, "source", size)
    assert await blob_store.put_file("datasets/d1/v1.parquet", source)
    target = tmp_path / "target"
    await blob_store.get_file("datasets/d1/v1.parquet", target)
    assert target.stat().st_size == size
    assert digest(target) == digest(source)
    assert await blob_store.get("datasets/d1/v1.parquet") == source.read_bytes()


@FILE_SIZES
async def test_a_conditional_file_put_never_replaces_an_existing_blob(
    blob_store: BlobStore, tmp_path: Path, size: int
) -> None:
    first = a_file(tmp_path, "first", size, seed=1)
    second = a_file(tmp_path, "second", size, seed=2)
    assert await blob_store.put_file("k", first, if_absent=True)
    assert not await blob_store.put_file("k", second, if_absent=True)
    await blob_store.get_file("k", tmp_path / "back")
    assert digest(tmp_path / "back") == digest(first)
    assert await blob_store.put_file("k", second)  # unconditional: replaces
    await blob_store.get_file("k", tmp_path / "back")
    assert digest(tmp_path / "back") == digest(second)


async def test_exactly_one_of_racing_conditional_file_puts_wins(
    blob_store: BlobStore, tmp_path: Path
) -> None:
    # Single PUTs: moto checks If-None-Match and then assembles a multipart upload
    # without a lock, so two racing multipart completions may both succeed there
    # (AWS S3 does both atomically, answering 412 or 409 to the loser).
    sources = [a_file(tmp_path, f"s{i}", 100_000, seed=i) for i in range(6)]
    outcomes = await asyncio.gather(
        *(blob_store.put_file("race", s, if_absent=True) for s in sources)
    )
    assert outcomes.count(True) == 1
    await blob_store.get_file("race", tmp_path / "back")
    assert digest(tmp_path / "back") == digest(sources[outcomes.index(True)])


async def test_get_file_replaces_the_target_whole(
    blob_store: BlobStore, tmp_path: Path
) -> None:
    await blob_store.put("k", b"new contents")
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "target"
    target.write_bytes(b"old contents that are longer")
    await blob_store.get_file("k", target)
    assert target.read_bytes() == b"new contents"
    assert [p.name for p in target.parent.iterdir()] == ["target"], "no temporary"


async def test_get_file_of_a_missing_blob_is_not_found_and_writes_nothing(
    blob_store: BlobStore, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(NotFoundError):
        await blob_store.get_file("nothing/here", tmp_path / "out" / "target")
    assert list((tmp_path / "out").iterdir()) == []


async def test_put_file_of_a_missing_source_is_the_callers_error(
    blob_store: BlobStore, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        await blob_store.put_file("k", tmp_path / "absent")
    assert not await blob_store.exists("k")
