"""Deliberate crash points for the reliability tests (kill -9 at a chosen step).

Off unless a CrashPlan is configured (`SPICE_CRASH_AT=point:count`); the worker
then dies with os._exit, exactly like SIGKILL: no cleanup, no flush.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

CRASH_POINTS = (
    "after_sink",
    "after_tracking",
    "before_commit",
    "relay_before_send",
    "relay_after_send",
)


@dataclass(slots=True)
class CrashPlan:
    point: str
    after: int
    _seen: int = field(default=0)

    @classmethod
    def parse(cls, spec: str | None) -> CrashPlan | None:
        if not spec:
            return None
        point, _, count = spec.partition(":")
        if point not in CRASH_POINTS:
            raise ValueError(f"unknown crash point {point!r}; one of {CRASH_POINTS}")
        return cls(point=point, after=int(count or "1"))

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self._seen += 1
        if self._seen >= self.after:
            os._exit(137)


def crash_point(plan: CrashPlan | None, point: str) -> None:
    if plan is not None:
        plan.reached(point)
