"""BlobStore on a local directory (embedded default, `./var/blobs`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from adapters.blob_store.keys import check_key
from adapters.blob_store.local_files import (
    require_file,
    temporary_beside,
    write_atomically,
)
from adapters.errors import StoreUnavailable
from domain.errors import NotFoundError

_COPY_BUFFER = 1 << 20


class FilesystemBlobStore:
    """Writes go to a temporary file first, so a reader never sees a partial blob;
    `if_absent` publishes it with a hard link, which fails atomically if the key exists."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        path = self._path(key)
        return await asyncio.to_thread(
            self._publish,
            path,
            lambda temporary: temporary.write_bytes(data),
            if_absent,
        )

    async def put_file(self, key: str, path: Path, *, if_absent: bool = False) -> bool:
        target = self._path(key)
        require_file(path)
        # A copy, not a link or a rename: the caller keeps (and may remove) its file.
        return await asyncio.to_thread(
            self._publish, target, lambda temporary: _copy(path, temporary), if_absent
        )

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError) as error:
            raise NotFoundError("blob", key) from error
        except OSError as error:
            raise StoreUnavailable(f"blob store unavailable: {error}") from error

    async def get_file(self, key: str, path: Path) -> None:
        source = self._path(key)
        await asyncio.to_thread(self._read_into, key, source, path)

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

    def _publish(
        self, path: Path, write: Callable[[Path], object], if_absent: bool
    ) -> bool:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = temporary_beside(path)
            try:
                write(temporary)
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

    @staticmethod
    def _read_into(key: str, source: Path, target: Path) -> None:
        """Errors opening the blob are the store's; errors writing `target` are
        the caller's local disk and stay OSErrors."""
        try:
            blob = source.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as error:
            raise NotFoundError("blob", key) from error
        except OSError as error:
            raise StoreUnavailable(f"blob store unavailable: {error}") from error
        with blob:
            write_atomically(
                target, lambda out: shutil.copyfileobj(blob, out, _COPY_BUFFER)
            )


def _copy(source: Path, target: Path) -> None:
    # copyfile uses the kernel's zero-copy paths (sendfile, copy_file_range).
    shutil.copyfile(source, target)
