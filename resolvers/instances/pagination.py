"""Relay pagination: page sizes with a hard cap, opaque cursors, page slices."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence

from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.instances.rows import ConnectionPage, Edge, NodeRow, PageInfo

# Cursor kinds: "k" keyset (instance id) for unfiltered lists, "o" offset otherwise.
KEYSET = "k"
OFFSET = "o"


def page_size(ctx: Context, first: int | None) -> int:
    limits = ctx.ports.limits
    if first is None:
        return limits.default_page_size
    if not 0 <= first <= limits.max_page_size:
        raise RequestError(f"first must be between 0 and {limits.max_page_size}")
    return first


def encode(kind: str, value: str | int) -> str:
    return base64.urlsafe_b64encode(position(kind, value).encode()).decode()


def position(kind: str, value: str | int) -> str:
    """A cursor's plain content; `Edge.cursor` encodes it when asked."""
    return f"{kind}:{value}"


def decode(cursor: str | None, kind: str) -> str | None:
    """The value inside a cursor of `kind`; None when there is no cursor."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise RequestError("invalid cursor") from error
    found, _, value = text.partition(":")
    if found != kind or not value:
        raise RequestError("invalid cursor for this list and its arguments")
    return value


def offset_after(cursor: str | None) -> int:
    value = decode(cursor, OFFSET)
    if value is None:
        return 0
    if not value.isdigit():
        raise RequestError("invalid cursor")
    return int(value) + 1


def keyset_page(
    rows: Sequence[NodeRow],
    size: int,
    *,
    after: str | None,
    count: Callable[[], Awaitable[int]],
) -> ConnectionPage:
    """`rows` were fetched with one extra row to tell whether a next page exists."""
    shown = list(rows[:size])
    edges = [Edge(position(KEYSET, r.instance_id), r) for r in shown]
    return _page(
        edges, has_next=len(rows) > size, has_previous=after is not None, count=count
    )


def offset_page(
    rows: Sequence[NodeRow], size: int, *, after: str | None
) -> ConnectionPage:
    start = offset_after(after)
    total = len(rows)

    async def count() -> int:
        return total

    return window_page(
        rows[start : start + size],
        start=start,
        has_next=start + size < total,
        count=count,
    )


def window_page(
    shown: Sequence[NodeRow],
    *,
    start: int,
    has_next: bool,
    count: Callable[[], Awaitable[int]],
) -> ConnectionPage:
    """A page of offset cursors whose rows the caller already cut out."""
    edges = [Edge(position(OFFSET, start + i), r) for i, r in enumerate(shown)]
    return _page(edges, has_next=has_next, has_previous=start > 0, count=count)


def _page(
    edges: list[Edge],
    *,
    has_next: bool,
    has_previous: bool,
    count: Callable[[], Awaitable[int]],
) -> ConnectionPage:
    info = PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return ConnectionPage(edges, info, count)
