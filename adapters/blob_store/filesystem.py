"""BlobStore on a local directory (embedded default, `./var/blobs`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path

from adapters.blob_store.keys import check_key
from adapters.errors import StoreUnavailable
from domain.errors import NotFoundError


class FilesystemBlobStore:
    """Writes go to a temporary file first, so a reader never sees a partial blob;
    `if_absent` publishes it with a hard link, which fails atomically if the key exists."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        path = self._path(key)
        return await asyncio.to_thread(self._write, path, data, if_absent)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError) as error:
            raise NotFoundError("blob", key) from error
        except OSError as error:
            raise StoreUnavailable(f"blob store unavailable: {error}") from error

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as error:
            raise StoreUnavailable(f"blob store unavailable: {error}") from error

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _write(self, path: Path, data: bytes, if_absent: bool) -> bool:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            temporary.write_bytes(data)
            try:
                if not if_absent:
                    temporary.replace(path)
                    return True
                try:
                    os.link(temporary, path)
                except FileExistsError:
                    return False
                return True
            finally:
                with contextlib.suppress(FileNotFoundError):
                    temporary.unlink()
        except OSError as error:
            raise StoreUnavailable(f"blob store unavailable: {error}") from error
