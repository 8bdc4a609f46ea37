"""Cron expressions by croniter (five fields, or six with seconds)."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterBadDateError, croniter


class CroniterRules:
    """domain.pipelines.deploy.CronRules on croniter."""

    def problem(self, expr: str) -> str | None:
        if len(expr) > MAX_LENGTH:
            return f"longer than {MAX_LENGTH} characters"
        try:
            # A cron that parses may still never fire (`0 0 31 2 *`): croniter
            # then fails to find a next date, which the scheduler must not meet.
            croniter(expr, _ANY_START).get_next(datetime)
        except CroniterBadDateError:
            return "it never fires"
        except (ValueError, KeyError) as error:  # croniter's parse errors
            return str(error) or type(error).__name__
        return None

    def fired(self, expr: str, after: datetime, upto: datetime) -> bool:
        try:
            following: datetime = croniter(expr, after).get_next(datetime)
        except CroniterBadDateError:  # deployed before this was checked
            return False
        return following <= upto


MAX_LENGTH = 200  # characters of a cron expression; real ones take a few dozen
_ANY_START = datetime(2000, 1, 1, tzinfo=UTC)
