"""The scheduler worker against a real container with a fake clock: a due
pipeline starts once, a restarted scheduler decides from the recorded runs, a new
output triggers the pipeline downstream and a new upload its readers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from adapters.pipelines.cron import CroniterRules
from app.graphql.endpoint import limits_of, ports_of
from app.scheduler import PipelineScheduler
from resolvers.context import Context
from resolvers.pipeline_runs import Build, start_build
from tests.dataplane.uploads import upload
from tests.graphql.client import GraphQL
from tests.pipelines.test_deploy import DEPLOY, _defined
from tests.pipelines.test_graphql_pipelines import DEFINE, ORDERS

DOWN = {"id": "down", "nodes": [
    {"id": "big", "op": "filter", "inputs": ["dataset:orders"], "args": {"expr": "qty > 1"}},
], "outputs": [{"node": "big", "dataset": "big_orders"}]}  # fmt: skip


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _scheduler(
    data: GraphQL, clock: FakeClock, abandon_after: timedelta | None = None
) -> PipelineScheduler:
    """A fresh scheduler, as after a restart: it remembers nothing."""
    container = data.container
    ports = ports_of(container, limits_of(container.settings))

    async def databases() -> Sequence[str]:
        return ["data"]

    return PipelineScheduler(
        Context(ports=ports, actor="scheduler"),
        databases=databases, cron=CroniterRules(), clock=clock,
        abandon_after=abandon_after,
    )  # fmt: skip


async def _status(data: GraphQL, run_id: str) -> str:
    query = 'query($r: ID!) { pipelineRun(db: "data", id: $r) { status } }'
    status: str = (await data.data(query, r=run_id))["pipelineRun"]["status"]
    return status


async def test_a_run_whose_process_died_is_failed_and_built_again(
    data: GraphQL,
) -> None:
    await _defined(data, "sales")
    deployed = await data.data(DEPLOY, p="sales", s={"intervalSeconds": 60})
    at = datetime.fromisoformat(deployed["deployPipeline"]["deployment"]["deployedAt"])
    clock = FakeClock(at + timedelta(minutes=30))
    scheduler = _scheduler(data, clock, abandon_after=timedelta(hours=1))
    stuck = await start_build(scheduler.context, "data", "sales")  # never completed
    assert isinstance(stuck, Build)
    assert await scheduler.tick() == []  # its run still counts as running
    clock.now = at + timedelta(hours=2)
    started = await scheduler.tick()
    await scheduler.drain()
    assert [d.pipeline for d, _ in started] == ["sales"]
    query = (
        'query($r: ID!) { pipelineRun(db: "data", id: $r) { status errors { rule } } }'
    )
    found = (await data.data(query, r=stuck.run_id))["pipelineRun"]
    assert found == {"status": "FAILED", "errors": [{"rule": "abandoned"}]}
    assert await _status(data, started[0][1]) == "SUCCEEDED"


async def test_ticks_start_due_builds_once_and_survive_a_restart(data: GraphQL) -> None:
    await _defined(data, "sales")
    deployed = await data.data(DEPLOY, p="sales", s={"intervalSeconds": 3600})
    at = datetime.fromisoformat(deployed["deployPipeline"]["deployment"]["deployedAt"])
    assert (await data.data(DEFINE, i=DOWN))["definePipeline"]["id"] == "down"
    await data.data(DEPLOY, p="down", d=["sales"])
    clock = FakeClock(at + timedelta(seconds=3599))
    scheduler = _scheduler(data, clock)
    assert await scheduler.tick() == []
    clock.now = at + timedelta(seconds=3600)
    started = await scheduler.tick()
    assert [(d.pipeline, d.reason) for d, _ in started] == [("sales", "schedule")]
    assert await scheduler.tick() == []  # running, or ran since the hour began
    await scheduler.drain()
    assert await _status(data, started[0][1]) == "SUCCEEDED"

    restarted = _scheduler(data, clock)
    downstream = await restarted.tick()  # sales produced a new output version
    assert [(d.pipeline, d.reason) for d, _ in downstream] == [
        ("down", "dependency:sales")
    ]
    await restarted.drain()
    assert await _status(data, downstream[0][1]) == "SUCCEEDED"
    assert await _scheduler(data, clock).tick() == []

    await upload(data, "orders.csv", ORDERS + b"4,C2,3,2\n", name="orders")
    last = _scheduler(data, clock)
    again = await last.tick()
    await last.drain()
    assert sorted((d.pipeline, d.reason) for d, _ in again) == [
        ("down", "input:orders"),
        ("sales", "input:orders"),
    ]
