"""The scheduler's decision with a controllable clock: schedules (cron and
interval), new input versions, upstream pipelines, and no second concurrent run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.pipelines.cron import CroniterRules
from domain.pipelines.deploy import Deployment, Schedule
from domain.pipelines.scheduling import Due, LatestVersion, RunSeen, due_builds

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
CRON = CroniterRules()


def _deployed(
    pipeline: str = "p",
    *,
    cron: str | None = None,
    every: int | None = None,
    depends_on: tuple[str, ...] = (),
) -> Deployment:
    schedule = None if cron is None and every is None else Schedule(cron, every)
    return Deployment(pipeline, 1, schedule, depends_on, T0)


def _run(
    pipeline: str = "p",
    *,
    at: datetime,
    status: str = "SUCCEEDED",
    inputs: tuple[str, ...] = (),
) -> RunSeen:
    finished = None if status == "RUNNING" else at + timedelta(seconds=5)
    return RunSeen(pipeline, status, at, finished, frozenset(inputs))


def _due(
    deployments: list[Deployment],
    runs: list[RunSeen],
    now: datetime,
    *,
    inputs: dict[str, list[str]] | None = None,
    latest: dict[str, LatestVersion] | None = None,
) -> list[Due]:
    return due_builds(
        deployments, runs, inputs=inputs or {}, latest=latest or {}, now=now, cron=CRON
    )


class TestSchedules:
    def test_a_cron_is_due_once_its_time_has_come(self) -> None:
        hourly = [_deployed(cron="30 * * * *")]
        assert _due(hourly, [], T0 + timedelta(minutes=29)) == []
        assert _due(hourly, [], T0 + timedelta(minutes=30)) == [Due("p", "schedule")]

    def test_a_cron_that_fired_before_the_last_run_is_not_due_again(self) -> None:
        hourly = [_deployed(cron="30 * * * *")]
        ran = [_run(at=T0 + timedelta(minutes=30))]
        assert _due(hourly, ran, T0 + timedelta(minutes=89)) == []
        assert _due(hourly, ran, T0 + timedelta(minutes=90)) == [Due("p", "schedule")]

    def test_an_interval_counts_from_the_last_run(self) -> None:
        every_minute = [_deployed(every=60)]
        assert _due(every_minute, [], T0 + timedelta(seconds=59)) == []
        assert _due(every_minute, [], T0 + timedelta(seconds=60)) == [
            Due("p", "schedule")
        ]
        ran = [_run(at=T0 + timedelta(seconds=60))]
        assert _due(every_minute, ran, T0 + timedelta(seconds=119)) == []
        assert len(_due(every_minute, ran, T0 + timedelta(seconds=120))) == 1


class TestTriggers:
    def test_a_new_input_version_since_the_last_build_makes_it_due(self) -> None:
        deployed = [_deployed(depends_on=("up",))]
        ran = [_run(at=T0 + timedelta(minutes=1), inputs=("orders-v1",))]
        same = {"orders": LatestVersion("orders-v1", T0)}
        newer = {"orders": LatestVersion("orders-v2", T0 + timedelta(minutes=2))}
        now = T0 + timedelta(minutes=3)
        inputs = {"p": ["orders"]}
        assert _due(deployed, ran, now, inputs=inputs, latest=same) == []
        assert _due(deployed, ran, now, inputs=inputs, latest=newer) == [
            Due("p", "input:orders")
        ]

    def test_before_any_run_only_versions_after_the_deployment_count(self) -> None:
        deployed = [_deployed(every=3600)]
        inputs = {"p": ["orders"]}
        older = {"orders": LatestVersion("v1", T0 - timedelta(days=1))}
        later = {"orders": LatestVersion("v2", T0 + timedelta(seconds=1))}
        now = T0 + timedelta(seconds=2)
        assert _due(deployed, [], now, inputs=inputs, latest=older) == []
        assert _due(deployed, [], now, inputs=inputs, latest=later) == [
            Due("p", "input:orders")
        ]

    def test_an_upstream_success_after_the_last_run_makes_it_due(self) -> None:
        deployed = [_deployed("down", depends_on=("up",))]
        own = _run("down", at=T0 + timedelta(minutes=1))
        before = _run("up", at=T0)  # finished at T0 + 5 s, before `own` started
        failed = _run("up", at=T0 + timedelta(minutes=2), status="FAILED")
        after = _run("up", at=T0 + timedelta(minutes=3))
        now = T0 + timedelta(minutes=4)
        assert _due(deployed, [own, before, failed], now) == []
        assert _due(deployed, [own, before, after], now) == [
            Due("down", "dependency:up")
        ]


def test_a_running_pipeline_is_never_started_again() -> None:
    deployed = [_deployed(every=1)]
    running = [_run(at=T0, status="RUNNING")]
    assert _due(deployed, running, T0 + timedelta(hours=1)) == []


def test_a_run_without_outcome_for_too_long_no_longer_blocks() -> None:
    deployed = [_deployed(every=60)]
    stuck = [RunSeen("p", "RUNNING", T0, None, frozenset(), "r1")]
    limit = timedelta(hours=1)
    early, late = T0 + timedelta(minutes=59), T0 + timedelta(minutes=61)
    assert (
        due_builds(
            deployed,
            stuck,
            inputs={},
            latest={},
            now=early,
            cron=CRON,
            abandon_after=limit,
        )
        == []
    )
    assert due_builds(
        deployed, stuck, inputs={}, latest={}, now=late, cron=CRON, abandon_after=limit
    ) == [Due("p", "schedule")]
