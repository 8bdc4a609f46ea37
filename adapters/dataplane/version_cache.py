"""A local disk cache of stored dataset versions, so reads never hold a blob in memory.

A version's Parquet file is immutable under its key, so a local copy never goes
stale: it is downloaded once with a streamed `BlobStore.get_file` (or adopted from
the ingest that wrote it) and then read in place, a row group at a time. The cache
keeps at most `max_bytes`, dropping the least recently used files; a reader that
loses its file to eviction fetches it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Final

from domain.ports import BlobStore

DEFAULT_MAX_BYTES: Final = 2 * 1024**3


class VersionCache:
    def __init__(
        self,
        blobs: BlobStore,
        directory: Path | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._blobs = blobs
        self._directory = directory
        self._owned = (
            directory is None
        )  # a private temporary directory: removed on close
        self._max_bytes = max_bytes
        self._fetching: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @property
    def directory(self) -> Path | None:
        """Where the copies are (None until the first one, for a private cache)."""
        return self._directory

    async def local(self, key: str) -> Path:
        """A local copy of the blob `key`, fetched at most once at a time per key."""
        path = self._path(key)
        if _touched(path):
            return path
        lock = self._fetching.setdefault(key, asyncio.Lock())
        async with lock:
            if not path.is_file():
                await self._blobs.get_file(key, path)
                await asyncio.to_thread(self._evict, keep=path)
        return path

    def adopt(self, key: str, file: Path) -> None:
        """Makes `file` (the bytes just stored under `key`) the cached copy with a hard
        link, which costs no copy; skipped where links are impossible (another
        filesystem): the first read then downloads it."""
        path = self._path(key)
        try:
            os.link(file, path)
        except OSError:  # cached already, or another filesystem
            return
        self._evict(keep=path)

    def close(self) -> None:
        if self._owned and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def _path(self, key: str) -> Path:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="spice-versions-"))
        self._directory.mkdir(parents=True, exist_ok=True)
        # Hashed: any key becomes one flat, safe file name.
        name = hashlib.sha256(key.encode()).hexdigest()[:40]
        return self._directory / f"{name}.parquet"

    def _evict(self, *, keep: Path) -> None:
        """Least recently used first (reads touch their file's mtime)."""
        if self._directory is None:
            return
        files = _listed(self._directory)
        total = sum(s.st_size for s, _ in files)
        for stat, path in sorted(files, key=lambda f: f[0].st_mtime):
            if total <= self._max_bytes:
                return
            if path != keep:
                path.unlink(missing_ok=True)
                total -= stat.st_size


def _touched(path: Path) -> bool:
    """Marks a cached file as just used; False if it is not there."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def _listed(directory: Path) -> list[tuple[os.stat_result, Path]]:
    """Cached files with their stat; one removed meanwhile (by another evictor) is
    skipped."""
    found = []
    for path in directory.glob("*.parquet"):
        with contextlib.suppress(FileNotFoundError):
            found.append((path.stat(), path))
    return found
