"""Blob keys: relative, slash-separated paths that cannot escape the store's root."""

from __future__ import annotations

import re

_SEGMENT = re.compile(r"^[A-Za-z0-9._=+@-]{1,255}$")
MAX_KEY_LENGTH = 1024


def check_key(key: str) -> str:
    """Returns the key, or raises ValueError for an empty or absolute key, a `..`
    or empty segment, or a character outside `A-Za-z0-9._=+@-` and `/`."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"invalid blob key {key!r}: empty or too long")
    if key.startswith("/"):
        raise ValueError(f"invalid blob key {key!r}: absolute path")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.match(segment):
            raise ValueError(f"invalid blob key {key!r}: bad segment {segment!r}")
    return key
