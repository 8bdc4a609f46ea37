"""Cron expressions by croniter (five fields, or six with seconds)."""

from __future__ import annotations

from datetime import datetime

from croniter import croniter


class CroniterRules:
    """domain.pipelines.deploy.CronRules on croniter."""

    def problem(self, expr: str) -> str | None:
        try:
            croniter(expr)
        except (ValueError, KeyError) as error:  # croniter's parse errors
            return str(error) or type(error).__name__
        return None

    def fired(self, expr: str, after: datetime, upto: datetime) -> bool:
        following: datetime = croniter(expr, after).get_next(datetime)
        return following <= upto
