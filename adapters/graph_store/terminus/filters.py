"""domain.queries filters and sort keys as WOQL over a version's Scalar
subdocuments (scalars.py), or `Declined` where WOQL cannot give exactly the
meaning domain.queries defines.

A filter compiles to a test on the bound variables `Doc` (the version) and `Id`
(its instance id), wrapped in a double negation: a test binds nothing and
succeeds at most once, however many branches of an `or` (or occurrences of a
substring) hold. As on SQL, a value counts only if it has the kind's type, `ne`
and `nin` hold for a present value of another type, and `not` is the
complement. Declined: regex (WOQL has no RE2), sort keys through relationships,
less/greater on booleans, text operations on instants and decimals, operands of
another type than their kind's, and text beyond the Basic Multilingual Plane
(the client escapes it as surrogate pairs, which the server does not join).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from terminusdb import WOQLQuery

from adapters.graph_store.terminus import woql
from adapters.graph_store.terminus.scalars import sortable, sortable_float
from domain.queries import AllOf, AnyOf, Condition, Negated, NodeFilter, SortKey


class Declined(Exception):
    """WOQL cannot evaluate this exactly: the caller evaluates it in memory."""


_TEXTS = frozenset({"text", "date", "time"})
_NUMBERS = frozenset({"integer", "float", "decimal"})
_ORDER_OPS = frozenset({"gt", "gte", "lt", "lte"})
_TEXT_OPS = frozenset({"contains", "starts_with", "ends_with"})
_SORTABLE = _TEXTS | _NUMBERS | {"datetime", "boolean"}
_ID = "Id"


class Compiler:
    """Compiles filters and sort keys of one query; fresh variable names come
    from a counter, so parts never share a variable by accident."""

    def __init__(self, doc: str = "Doc") -> None:
        self.doc = doc
        self._names: Iterator[int] = itertools.count(1)

    def fresh(self, stem: str) -> str:
        return f"{stem}{next(self._names)}"

    # --- filters --------------------------------------------------------------

    def where(self, node: NodeFilter) -> WOQLQuery:
        """The filter as a test (binds nothing, succeeds at most once)."""
        return woql.not_(woql.not_(self._node(node)))

    def _node(self, node: NodeFilter) -> WOQLQuery:
        if isinstance(node, AllOf):
            parts = [self._node(p) for p in node.parts]
            return woql.and_(*parts) if parts else woql.always()
        if isinstance(node, AnyOf):
            parts = [self._node(p) for p in node.parts]
            return woql.or_(*parts) if parts else woql.never()
        if isinstance(node, Negated):
            return woql.not_(self._node(node.part))
        return self._condition(node)

    def _condition(self, c: Condition) -> WOQLQuery:
        if c.op == "is_null":
            if not isinstance(c.value, bool):
                raise Declined("is_null takes a boolean")
            present = self._present(c.field)
            return woql.not_(present) if c.value else present
        if c.op in ("ne", "nin"):
            # Present, and of another type or not among the operands.
            typed = self._typed(c, "eq" if c.op == "ne" else "in")
            return woql.and_(self._present(c.field), woql.not_(typed))
        return self._typed(c, c.op)

    def _present(self, field: str | None) -> WOQLQuery:
        if field is None:
            return woql.always()  # every node has an id
        return self._scalar(field, self.fresh("Scalar"))

    def _scalar(self, field: str, scalar: str) -> WOQLQuery:
        return woql.and_(
            woql.field(self.doc, "scalars", woql.var(scalar)),
            woql.field(scalar, "name", woql.string(field)),
        )

    def _typed(self, c: Condition, op: str) -> WOQLQuery:
        """The value has the kind's type and satisfies `op`."""
        kind = "text" if c.field is None else c.kind
        if op == "in":
            if not isinstance(c.value, list | tuple):
                raise Declined("in takes a list")
            operands = [operand(kind, v) for v in c.value]
            if not operands:
                return woql.never()
        value, lookup = self._value(c.field, kind)
        if op == "in":
            return woql.and_(*lookup, woql.member(value, operands))
        if op in _TEXT_OPS:
            return woql.and_(*lookup, self._text_op(c, op, kind, value))
        if op == "eq":
            return woql.and_(
                *lookup, woql.equal(woql.var(value), operand(kind, c.value))
            )
        if op in _ORDER_OPS and kind != "boolean":
            compared = _compare(op, value, operand(kind, c.value))
            return woql.and_(*lookup, compared)
        raise Declined(f"{op} on {kind}")

    def _text_op(self, c: Condition, op: str, kind: str, value: str) -> WOQLQuery:
        if kind not in _TEXTS:
            # Memory compares str() of the parsed value: not the stored text.
            raise Declined(f"{op} on {kind}")
        part = operand("text", c.value)
        if not part["@value"]:
            return woql.always()  # every text contains, starts and ends with ""
        name = self.fresh("Part")
        before: woql.Term = (
            woql.integer(0) if op == "starts_with" else woql.var(self.fresh("Before"))
        )
        after: woql.Term = (
            woql.integer(0) if op == "ends_with" else woql.var(self.fresh("After"))
        )
        return woql.and_(
            woql.equal(woql.var(name), part),
            woql.substring(value, name, before=before, after=after),
        )

    # --- values ---------------------------------------------------------------

    def _value(self, field: str | None, kind: str) -> tuple[str, list[WOQLQuery]]:
        """A variable and the lookups binding it to the field's value, which
        succeed only when the value has the kind's type."""
        if field is None:
            return _ID, []
        if kind not in _SORTABLE:
            raise Declined(f"kind {kind}")
        scalar, value = self.fresh("Scalar"), self.fresh("Value")
        return value, [
            self._scalar(field, scalar),
            self._typed_value(kind, scalar, value),
        ]

    def _typed_value(self, kind: str, scalar: str, value: str) -> WOQLQuery:
        bound = woql.var(value)
        if kind in _TEXTS:
            return woql.field(scalar, "text", bound)
        if kind == "datetime":
            # The text without its trailing Z where it has one (scalars.py).
            plain = woql.and_(
                woql.not_(
                    woql.field(scalar, "instant", woql.var(self.fresh("Instant")))
                ),
                woql.field(scalar, "text", bound),
            )
            return woql.or_(woql.field(scalar, "instant", bound), plain)
        if kind == "integer":
            return woql.and_(
                woql.field(scalar, "whole", woql.boolean(True)),
                woql.field(scalar, "number", bound),
            )
        if kind == "float":
            return woql.field(scalar, "number", bound)
        if kind == "decimal":
            return woql.field(scalar, "decimal", bound)
        return woql.field(scalar, "boolean", bound)

    # --- order ----------------------------------------------------------------

    def sort_values(
        self, keys: Sequence[SortKey]
    ) -> tuple[list[WOQLQuery], list[tuple[str, bool]]]:
        """Lookups binding each key's (rank, value), and the OrderBy keys: per
        key its rank (0: a value of the kind's type; 1: null or another type,
        last in either direction) then its value, and the id last."""
        lookups: list[WOQLQuery] = []
        ordering: list[tuple[str, bool]] = []
        for key in keys:
            if key.via:
                raise Declined("a sort key through relationships")
            if key.field is None:
                ordering.append((_ID, key.descending))
                continue
            if key.kind not in _SORTABLE:
                raise Declined(f"sort on {key.kind}")
            rank, value, lookup = self._sort_value(key.field, key.kind)
            lookups.append(lookup)
            ordering += [(rank, False), (value, key.descending)]
        ordering.append((_ID, False))
        return lookups, ordering

    def _sort_value(self, field: str, kind: str) -> tuple[str, str, WOQLQuery]:
        rank = self.fresh("Rank")
        value, lookup = self._value(field, kind)
        has = woql.and_(*lookup, woql.equal(woql.var(rank), woql.integer(0)))
        # Unranked rows all get one value, so the next key decides among them.
        _, again = self._value(field, kind)
        lacks = woql.and_(
            woql.not_(woql.and_(*again)),
            woql.equal(woql.var(rank), woql.integer(1)),
            woql.equal(woql.var(value), woql.string("")),
        )
        return rank, value, woql.or_(has, lacks)


def _compare(op: str, value: str, right: woql.Literal) -> WOQLQuery:
    # TerminusDB v11 has no Gte/Lte: their complements instead.
    left = woql.var(value)
    if op == "gt":
        return woql.greater(left, right)
    if op == "lt":
        return woql.less(left, right)
    if op == "gte":
        return woql.not_(woql.less(left, right))
    return woql.not_(woql.greater(left, right))


def operand(kind: str, value: Any) -> woql.Literal:
    """An operand as the literal the stored form of its kind compares with."""
    if kind in _TEXTS:
        return woql.string(_text(value))
    if kind == "datetime":
        return woql.string(_text(value).rstrip("Z"))
    if kind == "boolean":
        if not isinstance(value, bool):
            raise Declined("a boolean operand of another type")
        return woql.boolean(value)
    if kind == "decimal":
        return woql.string(sortable(_decimal(value)))
    if kind in ("integer", "float"):
        return woql.string(_number(value))
    raise Declined(f"kind {kind}")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Declined("a text operand of another type")
    if any(ord(char) > 0xFFFF for char in value):
        raise Declined("text beyond the Basic Multilingual Plane")
    return value


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Declined("a numeric operand of another type")
    if isinstance(value, float):
        if math.isnan(value):
            raise Declined("NaN")
        return sortable_float(value)
    return sortable(Decimal(value))


def _decimal(value: Any) -> Decimal:
    # Memory reads the operand as Decimal(str(operand)).
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Declined("a decimal operand of another type")
    try:
        found = Decimal(str(value))
    except InvalidOperation as error:
        raise Declined("not a decimal") from error
    if not found.is_finite():
        raise Declined("not a finite decimal")
    return found
