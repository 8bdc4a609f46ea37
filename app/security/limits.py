"""Limits per principal: a query-cost budget per minute (a token bucket that
refills continuously, so a burst may spend a whole minute's budget and then
waits) and a cap on concurrent subscriptions."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from graphql import GraphQLError

WINDOW_SECONDS = 60.0
_MAX_PRINCIPALS = 100_000  # buckets kept; the oldest full ones are dropped first


class Refused(Exception):
    """An operation refused by a limit; `code` goes into the GraphQL error."""

    code = "RATE_LIMITED"
    retry_after: int | None = None

    def as_graphql_error(self) -> GraphQLError:
        extensions: dict[str, object] = {"code": self.code}
        if self.retry_after is not None:
            extensions["retryAfter"] = self.retry_after
        return GraphQLError(str(self), extensions=extensions)


class OverBudget(Refused):
    def __init__(self, retry_after: int, budget: int) -> None:
        super().__init__(
            f"Rate limit: the query cost budget of {budget} per minute is spent; "
            f"retry after {retry_after} s."
        )
        self.retry_after = retry_after


class TooManySubscriptions(Refused):
    code = "TOO_MANY_SUBSCRIPTIONS"


@dataclass(slots=True)
class _Bucket:
    level: float
    at: float


class CostLimiter:
    """`charge` spends a request's estimated cost from its principal's bucket;
    a budget of 0 turns the limit off."""

    def __init__(
        self, budget_per_minute: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._budget = budget_per_minute
        self._rate = budget_per_minute / WINDOW_SECONDS
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def charge(self, principal: str, cost: int) -> None:
        if self._budget <= 0:
            return
        now = self._clock()
        bucket = self._buckets.get(principal)
        if bucket is None:
            bucket = self._buckets[principal] = _Bucket(float(self._budget), now)
            self._trim()
        bucket.level = min(self._budget, bucket.level + (now - bucket.at) * self._rate)
        bucket.at = now
        cost = min(max(cost, 1), self._budget)  # one request always fits a full bucket
        if bucket.level < cost:
            wait = (cost - bucket.level) / self._rate
            raise OverBudget(max(1, math.ceil(wait)), self._budget)
        bucket.level -= cost

    def _trim(self) -> None:
        if len(self._buckets) > _MAX_PRINCIPALS:
            oldest = min(self._buckets, key=lambda k: self._buckets[k].at)
            del self._buckets[oldest]


class SubscriptionCaps:
    def __init__(self, per_principal: int) -> None:
        self._cap = per_principal
        self._open: dict[str, int] = {}

    def acquire(self, principal: str) -> None:
        """One more open subscription of `principal`; `release` it when it ends."""
        count = self._open.get(principal, 0)
        if count >= self._cap:
            raise TooManySubscriptions(
                f"At most {self._cap} concurrent subscriptions per principal."
            )
        self._open[principal] = count + 1

    def release(self, principal: str) -> None:
        left = self._open.get(principal, 0) - 1
        if left > 0:
            self._open[principal] = left
        else:
            self._open.pop(principal, None)
