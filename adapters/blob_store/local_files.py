"""Local files on either side of a blob transfer: atomic writes, checked sources."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO


def temporary_beside(path: Path) -> Path:
    """Same directory, so that the final rename or link is atomic."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def write_atomically(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Writes through a temporary file beside `target`, renamed into place when
    complete: a reader sees the old file or the whole new one, never a part."""
    temporary = temporary_beside(target)
    try:
        with temporary.open("wb") as out:
            write(out)
        temporary.replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def require_file(path: Path) -> int:
    """The file's size; a missing source is the caller's mistake (FileNotFoundError),
    not the store's outage."""
    if not path.is_file():
        raise FileNotFoundError(f"no file to store at {path}")
    return path.stat().st_size
