"""SQL functions SQLite lacks, registered on every connection the adapters open.

`spice_regex(pattern, value)`: 1 when the RE2 pattern matches anywhere in the
value, else 0 (never NULL, so filters stay two-valued). Patterns come checked
and written for RE2 by domain.regex, the same that PostgreSQL's `~` is given in
its own syntax; RE2 matches in linear time, whatever the pattern.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped,unused-ignore]


def install(connection: Any) -> None:
    """Registers the functions on a DB-API SQLite connection (or an adapter of
    one with the same `create_function`)."""
    connection.create_function("spice_regex", 2, _regex, deterministic=True)


def _regex(pattern: Any, value: Any) -> int:
    if pattern is None or value is None:
        return 0
    return int(_compiled(str(pattern)).search(str(value)) is not None)


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)
