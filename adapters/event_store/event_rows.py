"""Writes an append's event rows in one statement per dialect's fastest way.

SQLAlchemy's executemany spent more time than PostgreSQL did on a bulk append
(binding 18 parameters per row through its type processors, the JSON columns
through the standard library): about 30 µs of Python per event. On
PostgreSQL the rows go as one array per column and `unnest` turns them back
into rows: one statement, encoded by the driver in C. SQLite receives
executemany on its own driver, whose binding is native, with the JSON text
made by orjson.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection

from adapters import tables as t
from adapters.serialization import dumps_exact

# Columns in the order the statements name them; JSON ones are sent as text.
_COLUMNS: Final = tuple(column.name for column in t.events.columns)
_JSON: Final = frozenset({"data", "metadata"})
_PG_TYPES: Final = {
    "position": "bigint",
    "schema_version": "integer",
    "seq": "integer",
    "ontology_version": "bigint",
}


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_POSTGRES_INSERT, tuple(_columns_of(rows)))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT, [_tuple_of(row) for row in rows])
    else:
        conn.execute(t.events.insert(), list(rows))


def _columns_of(rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """One list per column, JSON columns as text (NULL stays NULL)."""
    columns: list[list[Any]] = []
    for name in _COLUMNS:
        values = [row[name] for row in rows]
        if name in _JSON:
            values = [None if v is None else dumps_exact(v) for v in values]
        columns.append(values)
    return columns


def _tuple_of(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        (None if row[name] is None else dumps_exact(row[name]))
        if name in _JSON
        else row[name]
        for name in _COLUMNS
    )


def _postgres_insert() -> str:
    arrays = ", ".join(
        f"${i}::{_PG_TYPES.get(name, 'text')}[]"
        for i, name in enumerate(_COLUMNS, start=1)
    )
    selected = ", ".join(
        f'"{name}"::json' if name in _JSON else f'"{name}"' for name in _COLUMNS
    )
    names = ", ".join(f'"{name}"' for name in _COLUMNS)
    return (
        f"INSERT INTO events ({names}) "
        f"SELECT {selected} FROM unnest({arrays}) AS given({names})"
    )


def _sqlite_insert() -> str:
    names = ", ".join(f'"{name}"' for name in _COLUMNS)
    marks = ", ".join("?" for _ in _COLUMNS)
    return f"INSERT INTO events ({names}) VALUES ({marks})"


_POSTGRES_INSERT: Final = _postgres_insert()
_SQLITE_INSERT: Final = _sqlite_insert()
