"""BlobDatasetFiles on each blob store: ingest reports its stages, store streams the
file, and reads (`rows`, `batches`) come from a local copy fetched once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from adapters.blob_store.filesystem import FilesystemBlobStore
from adapters.dataplane.files import BlobDatasetFiles
from domain.dataplane.datasets import INGEST_STAGES, IngestOptions, Upload
from domain.errors import NotFoundError
from domain.ports import BlobStore
from tests.integration.conftest import open_s3_blob_store

ROWS = 2_500
KEY = "datasets/data/orders/v1.parquet"


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
async def blobs(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path / "blobs")
        return
    async with open_s3_blob_store() as store:
        yield store


def files_of(blobs: BlobStore, tmp_path: Path, **options: int) -> BlobDatasetFiles:
    """Row groups of 1,000 rows, so that reads cross them."""
    return BlobDatasetFiles(
        blobs, work_dir=tmp_path, cache_dir=tmp_path / "cache", chunk_rows=1_000,
        **options,
    )  # fmt: skip


async def stored(files: BlobDatasetFiles, tmp_path: Path, key: str = KEY) -> Path:
    """A CSV of ROWS rows ingested and stored under `key`; returns its Parquet file."""
    source = tmp_path / "orders.csv"
    source.write_text("n,square\n" + "".join(f"{i},{i * i}\n" for i in range(ROWS)))
    stages: list[str] = []
    ingested = await files.ingest(
        Upload("orders.csv", "text/csv", source),
        IngestOptions(),
        on_stage=stages.append,
    )
    assert stages == list(INGEST_STAGES)
    await files.store(key, ingested.parquet)
    return ingested.parquet


async def test_store_puts_the_parquet_file_in_the_blob_store(
    blobs: BlobStore, tmp_path: Path
) -> None:
    parquet = await stored(files_of(blobs, tmp_path), tmp_path)
    await blobs.get_file(KEY, tmp_path / "back.parquet")
    assert (tmp_path / "back.parquet").read_bytes() == parquet.read_bytes()
    assert pq.ParquetFile(tmp_path / "back.parquet").num_row_groups == 3


async def test_batches_are_every_row_in_order_in_lists_of_the_size_asked(
    blobs: BlobStore, tmp_path: Path
) -> None:
    files = files_of(blobs, tmp_path)
    await stored(files, tmp_path)
    batches = [b async for b in files.batches(KEY, batch_rows=700)]
    assert [len(b) for b in batches] == [700, 700, 700, 400]
    rows = [r for b in batches for r in b]
    assert rows[0] == {"n": "0", "square": "0"}
    assert [r["n"] for r in rows] == [str(i) for i in range(ROWS)]


async def test_reads_of_another_server_fetch_the_blob_once(
    blobs: BlobStore, tmp_path: Path
) -> None:
    await stored(files_of(blobs, tmp_path / "writer"), tmp_path)
    reader = files_of(blobs, tmp_path / "reader")  # an empty cache
    page, total = await reader.rows(KEY, offset=990, limit=20)
    assert total == ROWS
    assert [r["n"] for r in page] == [str(i) for i in range(990, 1010)]
    # The local copy serves every later read: no whole-blob get per page.
    await blobs.delete(KEY)
    page, _ = await reader.rows(KEY, offset=2_490, limit=100)
    assert len(page) == 10
    assert sum([len(b) async for b in reader.batches(KEY)]) == ROWS


async def test_the_cache_keeps_its_size_and_fetches_an_evicted_version_again(
    blobs: BlobStore, tmp_path: Path
) -> None:
    writer = files_of(blobs, tmp_path / "writer")
    size = (await stored(writer, tmp_path, "a.parquet")).stat().st_size
    await stored(writer, tmp_path, "b.parquet")
    reader = files_of(blobs, tmp_path / "reader", cache_bytes=size + size // 2)
    await reader.rows("a.parquet", offset=0, limit=1)
    await reader.rows("b.parquet", offset=0, limit=1)
    cached = list((tmp_path / "reader" / "cache").glob("*.parquet"))
    assert len(cached) == 1, "the least recently used version went"
    page, _ = await reader.rows("a.parquet", offset=5, limit=1)
    assert page == [{"n": "5", "square": "25"}]


async def test_a_version_whose_blob_is_gone_is_not_found(
    blobs: BlobStore, tmp_path: Path
) -> None:
    files = files_of(blobs, tmp_path)
    with pytest.raises(NotFoundError):
        await files.rows("datasets/none.parquet", offset=0, limit=1)
    with pytest.raises(NotFoundError):
        [b async for b in files.batches("datasets/none.parquet")]


async def test_a_private_cache_directory_is_removed_on_close(tmp_path: Path) -> None:
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    writer = files_of(blobs, tmp_path)
    await stored(writer, tmp_path)
    files = BlobDatasetFiles(blobs)  # no cache_dir: a temporary one
    page, _ = await files.rows(KEY, offset=0, limit=1)
    assert page == [{"n": "0", "square": "0"}]
    directory = files.cache_directory
    assert directory is not None
    assert directory.is_dir()
    files.close()
    assert not directory.exists()
