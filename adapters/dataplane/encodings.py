"""Text encoding and binary detection on a file's first bytes."""

from __future__ import annotations

import codecs
from typing import Final

import charset_normalizer

from domain.dataplane.datasets import ingest_error

PREFIX_BYTES: Final = 256 * 1024
_KOREAN: Final = frozenset({"cp949", "euc_kr", "euc-kr", "johab", "iso2022_kr"})


def detect_encoding(prefix: bytes) -> str:
    """A Python codec name for the file whose first bytes are `prefix`.

    BOMs decide first; then strict UTF-8 (a multi-byte character cut at the end
    of the prefix is fine); then charset-normalizer. Korean legacy encodings
    are read as CP949, the superset of EUC-KR that Excel writes.
    """
    if prefix.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in prefix:
        raise ingest_error("binary_file", "the file is binary, not text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(prefix, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(prefix).best()
    if best is None:
        raise ingest_error("binary_file", "the file is binary or in no known encoding")
    name = best.encoding.lower()
    return "cp949" if name in _KOREAN else name


def check_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ingest_error(
            "unknown_encoding", f"unknown encoding {name!r}", "encoding"
        ) from None
