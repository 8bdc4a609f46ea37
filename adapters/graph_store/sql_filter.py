"""domain.queries filters and sort keys as SQL over the node rows' JSON values.

Every expression is two-valued (never SQL NULL), so `not` means the complement,
as in memory. A value counts only if its JSON type is the kind's ("a value
stored under another type matches only ne and nin"). Instants compare as their
canonical UTC text without the `Z` (fixed-width up to the seconds, then the
optional fraction: text order is time order). Decimals compare exactly on
PostgreSQL (numeric); SQLite has no exact decimal, so there decimal filters
other than (in)equality, and decimal sort keys, are declined (None).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from adapters.graph_store.sql_text import Statement
from domain.queries import AllOf, AnyOf, Condition, Hop, Negated, NodeFilter, SortKey


class Unsupported(Exception):
    """The dialect cannot evaluate this exactly: the caller filters in memory."""


_JSON_TYPES = {
    # kind: (SQLite json_type values, PostgreSQL json_typeof value)
    "text": (("text",), "string"),
    "decimal": (("text",), "string"),
    "date": (("text",), "string"),
    "time": (("text",), "string"),
    "datetime": (("text",), "string"),
    "integer": (("integer",), "number"),
    "float": (("integer", "real"), "number"),
    "boolean": (("true", "false"), "boolean"),
}
_COMPARE = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_INTEGER_PATTERN = "^-?[0-9]+$"
# `in` lists of texts longer than this are bound as one JSON array.
_LONG_LIST = 100


class Compiler:
    """Builds the SQL of one statement's filter and order, binding as it goes
    (callers must place the text where it reads in order; see Statement)."""

    def __init__(self, sql: Statement, alias: str = "n") -> None:
        self.sql = sql
        self.alias = alias

    # --- filters --------------------------------------------------------------

    def where(self, node: NodeFilter) -> str:
        if isinstance(node, AllOf):
            return self._join(node.parts, "AND", empty="1=1")
        if isinstance(node, AnyOf):
            return self._join(node.parts, "OR", empty="1=0")
        if isinstance(node, Negated):
            return f"(NOT {self.where(node.part)})"
        return self._condition(node)

    def _join(self, parts: Sequence[NodeFilter], word: str, *, empty: str) -> str:
        if not parts:
            return empty
        return "(" + f" {word} ".join(self.where(p) for p in parts) + ")"

    def _condition(self, c: Condition) -> str:
        if c.op == "is_null":
            null = self._is_null(c.field)
            return null if c.value else f"(NOT {null})"
        if c.op in ("ne", "nin"):
            # Present, and of another type or not among the operands.
            present = f"(NOT {self._is_null(c.field)})"
            matches = self._typed(c, "eq" if c.op == "ne" else "in")
            return f"({present} AND NOT {matches})"
        return self._typed(c, c.op)

    def _typed(self, c: Condition, op: str) -> str:
        """`value has the kind's type AND it satisfies op`, two-valued. Each
        piece is bound in the order it reads (SQLite's `?` are positional)."""
        if c.kind == "decimal" and not self.sql.postgres and op not in ("eq", "in"):
            raise Unsupported("decimal order on SQLite")
        if op == "in" and not c.value:
            return "1=0"
        guard = self._guard(c.field, c.kind)
        if op in ("contains", "starts_with", "ends_with"):
            return f"({guard} AND {self._text_op(c, op)})"
        if op == "regex":
            return f"({guard} AND {self._regex(c)})"
        # On SQLite, decimals compare as their canonical text: exact for equality.
        text = c.kind == "decimal" and not self.sql.postgres
        value = self._value(c.field, c.kind, text=text)
        if op == "in" and c.kind == "text" and len(c.value) > _LONG_LIST:
            return f"({guard} AND {value} IN ({self._listed(c.value)}))"
        if op == "in":
            items = ", ".join(self._bind(c.kind, v, text=text) for v in c.value)
            return f"({guard} AND {value} IN ({items}))"
        operand = self._bind(c.kind, c.value, text=text)
        return f"({guard} AND {value} {_COMPARE[op]} {operand})"

    def _text_op(self, c: Condition, op: str) -> str:
        operand = str(c.value)
        if not operand:
            return "1=1"  # every text contains, starts and ends with ""
        value = self._value(c.field, "text")
        if op == "contains":
            function = "strpos" if self.sql.postgres else "instr"
            return f"{function}({value}, {self.sql.bind(operand)}) > 0"
        if op == "starts_with":
            length = self.sql.bind(len(operand))
            return f"substr({value}, 1, {length}) = {self.sql.bind(operand)}"
        again = self._value(c.field, "text")
        length = self.sql.bind(len(operand))
        return f"substr({value}, length({again}) - {length} + 1) = {self.sql.bind(operand)}"

    def _regex(self, c: Condition) -> str:
        """PostgreSQL's `~` on the pattern as written for it; on SQLite, the
        RE2 function every connection has (adapters/sqlite_functions.py)."""
        if self.sql.postgres:
            value = self._value(c.field, "text")
            return f"({value} ~ {self.sql.bind(c.value.postgres)})"
        pattern = self.sql.bind(c.value.re2)
        return f"(spice_regex({pattern}, {self._value(c.field, 'text')}) = 1)"

    def _listed(self, values: Sequence[Any]) -> str:
        """Many texts as one bound JSON array (a search's ids): a statement
        stays within the drivers' parameter limits whatever the list's length."""
        items = self.sql.bind(orjson.dumps([str(v) for v in values]).decode())
        if self.sql.postgres:
            return f"SELECT jsonb_array_elements_text(CAST(CAST({items} AS text) AS jsonb))"
        return f"SELECT value FROM json_each({items})"

    # --- values ---------------------------------------------------------------

    def _path(self, field: str) -> str:
        if self.sql.postgres:
            # Typed: `json -> $1` alone is ambiguous (text or integer key).
            return f"CAST({self.sql.bind(field)} AS text)"
        return self.sql.bind('$."' + field.replace('"', '\\"') + '"')

    def _raw(self, field: str) -> str:
        if self.sql.postgres:
            return f"({self.alias}.vals ->> {self._path(field)})"
        return f"json_extract({self.alias}.vals, {self._path(field)})"

    def _is_null(self, field: str | None) -> str:
        if field is None:
            return "1=0"
        return f"({self._raw(field)} IS NULL)"

    def _guard(self, field: str | None, kind: str) -> str:
        if field is None:
            return "1=1"
        sqlite_types, pg_type = _JSON_TYPES[kind]
        if self.sql.postgres:
            kind_check = f"COALESCE(json_typeof({self.alias}.vals -> {self._path(field)}), 'null') = '{pg_type}'"
            # A JSON number is an integer only when written without a fraction.
            pattern = {"decimal": _DECIMAL_PATTERN, "integer": _INTEGER_PATTERN}
            if kind in pattern:
                kind_check += f" AND {self._raw(field)} ~ '{pattern[kind]}'"
            return f"({kind_check})"
        listed = ", ".join(f"'{t}'" for t in sqlite_types)
        return f"(COALESCE(json_type({self.alias}.vals, {self._path(field)}), 'null') IN ({listed}))"

    def _value(self, field: str | None, kind: str, *, text: bool = False) -> str:
        if field is None:
            return f"{self.alias}.instance_id"
        raw = self._raw(field)
        if kind == "datetime":
            return f"rtrim({raw}, 'Z')"
        if text or not self.sql.postgres:
            return raw
        cast = {"integer": "numeric", "float": "double precision", "decimal": "numeric",
                "boolean": "boolean"}.get(kind)  # fmt: skip
        return f"({raw})::{cast}" if cast else raw

    def _bind(self, kind: str, value: Any, *, text: bool = False) -> str:
        if kind == "datetime":
            return self.sql.bind(str(value).rstrip("Z"))
        if kind == "boolean" and not self.sql.postgres:
            return self.sql.bind(1 if value else 0)
        if kind == "decimal" and (text or not self.sql.postgres):
            return self.sql.bind(str(value))
        if kind in ("integer", "decimal") and self.sql.postgres:
            # Sent as text and cast: asyncpg wants a Decimal for a numeric parameter.
            return f"CAST(CAST({self.sql.bind(str(value))} AS text) AS numeric)"
        return self.sql.bind(value)

    def guard(self, field: str, kind: str) -> str:
        """Whether the field's value has the kind's type (two-valued)."""
        return self._guard(field, kind)

    def raw(self, field: str) -> str:
        """The field's value as the driver's JSON extraction gives it."""
        return self._raw(field)

    # --- order ----------------------------------------------------------------

    def order(
        self,
        keys: Sequence[SortKey],
        joined: Callable[[Sequence[Hop]], str] | None = None,
    ) -> str:
        """Each key: values of its type first (nulls and others last, either
        direction), then the values; the instance id breaks every tie. A key
        with hops sorts on the related node `joined` names the alias of."""
        parts: list[str] = []
        for key in keys:
            on = self
            if key.via:
                if joined is None:
                    raise Unsupported("a related sort key without its joins")
                on = Compiler(self.sql, joined(key.via))
            parts.extend(on._sort_parts(key))
        parts.append(f"{self.alias}.instance_id ASC")
        return ", ".join(parts)

    def _sort_parts(self, key: SortKey) -> list[str]:
        if key.kind == "decimal" and not self.sql.postgres:
            raise Unsupported("decimal sort on SQLite")
        direction = "DESC" if key.descending else "ASC"
        if key.field is None:
            if not key.via:
                return [f"{self.alias}.instance_id {direction}"]
            # A missing related node has no id: last, as a null.
            missing = f"CASE WHEN {self.alias}.instance_id IS NULL THEN 1 ELSE 0 END"
            return [missing, f"{self.alias}.instance_id {direction}"]
        first = f"CASE WHEN {self._guard(key.field, key.kind)} THEN 0 ELSE 1 END"
        guard = self._guard(key.field, key.kind)
        value = self._value(key.field, key.kind)
        return [first, f"CASE WHEN {guard} THEN {value} END {direction}"]
