"""Where a read looks back to: `asOf` (a position) or `asOfTime` (an instant),
as the position the graph store reads at.

An instant maps to the last position of the database committed at or before it
(EventStore.position_at, one index lookup). Positions are database-wide and
handed out in commit order, so that position shows exactly what the branch's
lineage had committed by then, on the branch and on its ancestors up to their
forks alike; before the database's first commit it is 0, an empty read.
"""

from __future__ import annotations

from typing import Any

from domain.ontology import formats
from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.plain import given


def as_of_position(value: Any) -> int | None:
    as_of = given(value)
    if as_of is None:
        return None
    if as_of < 0:
        raise RequestError("asOf must be a position >= 0")
    return int(as_of)


async def read_position(ctx: Context, as_of: Any, as_of_time: Any) -> int | None:
    """The position of `asOf` or of `asOfTime`; None (now) when neither is given."""
    position = as_of_position(as_of)
    moment = given(as_of_time)
    if moment is None:
        return position
    if position is not None:
        raise RequestError(
            "give asOf or asOfTime, not both", details={"field": "asOfTime"}
        )
    instant = formats.parse_datetime(moment)
    if instant is None or instant.utcoffset() is None:
        raise RequestError(
            f"asOfTime must be an ISO-8601 instant with a UTC offset, not {moment!r}",
            details={"field": "asOfTime"},
        )
    return await ctx.ports.store.position_at(ctx.db, instant)
