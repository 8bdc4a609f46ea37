"""Commands that read many streams, then append with OCC on each of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from domain.errors import ConcurrencyConflict

T = TypeVar("T")

# A merge (rebase, revert) reads every changed stream, then appends with OCC on
# each: a write to one of them in between fails the append. The command is
# decided afresh from the new state, so trying again is safe; a branch that
# stays busy still refuses.
ATTEMPTS = 3


async def retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt()`, again on ConcurrencyConflict, at most ATTEMPTS times."""
    for count in range(1, ATTEMPTS + 1):
        try:
            return await attempt()
        except ConcurrencyConflict:
            if count == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
