"""Input versions as DuckDB views: each stored column (text) read as its profiled
type, so pipelines compute on numbers and dates, not on their spellings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import duckdb

from adapters.dataplane.profiling import typed_column_sql
from domain.pipelines.plan import Source

_TRUE: Final = "('true', 'yes', 'y', '1', 't')"
_FALSE: Final = "('false', 'no', 'n', '0', 'f')"
_BLANKS: Final = " \t\n\r\f\v\u00a0"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_view(
    db: duckdb.DuckDBPyConnection,
    view: str,
    source: Source,
    path: Path,
    *,
    sample: int | None,
) -> None:
    """Our own SQL (quoted names, escaped path), not user input: user expressions
    go through sqlglot (adapters/pipelines/expressions.py)."""
    stored = {str(c["name"]): c for c in source.columns}
    columns = ", ".join(
        f"{_typed(c.name, stored.get(c.name, {}))} AS {quote(c.name)}"
        for c in source.schema
    )
    limit = "" if sample is None else f" LIMIT {int(sample)}"
    db.execute(
        f"CREATE OR REPLACE TEMP VIEW {quote(view)} AS "
        f"SELECT {columns} FROM read_parquet({literal(str(path))}){limit}"
    )


def _typed(name: str, profile: Mapping[str, Any]) -> str:
    kind = str(profile.get("type") or "string")
    text = f"nullif(trim(CAST({quote(name)} AS VARCHAR), {literal(_BLANKS)}), '')"
    if kind == "boolean":
        lowered = f"lower({text})"
        return f"CASE WHEN {lowered} IN {_TRUE} THEN true WHEN {lowered} IN {_FALSE} THEN false END"
    if kind == "integer":
        return f"TRY_CAST(replace({text}, ',', '') AS BIGINT)"
    typed = typed_column_sql(name, kind, profile.get("format"))
    if typed is None:
        # Text stays as it was (a blank cell is null).
        return f"CASE WHEN {text} IS NULL THEN NULL ELSE CAST({quote(name)} AS VARCHAR) END"
    return typed
