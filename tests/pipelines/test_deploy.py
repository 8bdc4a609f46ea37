"""deployPipeline over GraphQL: recorded as versions of the deployment on the
pipeline's stream; bad schedules, unknown pipelines and dependency cycles refused."""

from __future__ import annotations

from typing import Any

from tests.dataplane.uploads import upload
from tests.graphql.client import GraphQL
from tests.pipelines.test_graphql_pipelines import CLIENTS, DEFINE, ORDERS, _spec

DEPLOY = """mutation($p: ID!, $s: ScheduleInput, $d: [ID!]) {
  deployPipeline(db: "data", pipeline: $p, schedule: $s, dependsOn: $d) {
    __typename ... on Pipeline { id deployment { version schedule { cron intervalSeconds }
                                                 dependsOn deployedAt } }
    ... on ValidationError { message errors { path code message } } } }"""
READ = 'query($p: ID!) { pipeline(db: "data", id: $p) { deployment { version } } }'


async def _defined(data: GraphQL, *ids: str) -> None:
    await upload(data, "orders.csv", ORDERS, name="orders")
    await upload(data, "clients.csv", CLIENTS, name="clients")
    for pipeline in ids:
        spec = {**_spec(), "id": pipeline}
        assert (await data.data(DEFINE, i=spec))["definePipeline"]["id"] == pipeline


async def _deploy(data: GraphQL, pipeline: str, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = (await data.data(DEPLOY, p=pipeline, **variables))[
        "deployPipeline"
    ]
    return found


async def test_deploying_again_replaces_the_deployment(data: GraphQL) -> None:
    await _defined(data, "a", "b")
    first = await _deploy(data, "a", s={"cron": "0 3 * * *"})
    assert first["deployment"]["version"] == 1
    assert first["deployment"]["schedule"] == {
        "cron": "0 3 * * *",
        "intervalSeconds": None,
    }
    second = await _deploy(data, "a", s={"intervalSeconds": 300}, d=["b"])
    assert second["deployment"]["version"] == 2
    assert second["deployment"]["schedule"] == {"cron": None, "intervalSeconds": 300}
    assert second["deployment"]["dependsOn"] == ["b"]
    assert (await data.data(READ, p="a"))["pipeline"]["deployment"] == {"version": 2}
    same = await _deploy(data, "a", s={"intervalSeconds": 300}, d=["b"])
    assert same["deployment"] == second["deployment"]  # nothing changed: no version


async def test_neither_schedule_nor_dependencies_undeploys(data: GraphQL) -> None:
    await _defined(data, "a")
    await _deploy(data, "a", s={"intervalSeconds": 60})
    assert (await _deploy(data, "a"))["deployment"] is None
    assert (await data.data(READ, p="a"))["pipeline"]["deployment"] is None


class TestRefused:
    async def _error(self, data: GraphQL, pipeline: str, **variables: Any) -> list[Any]:
        found = await _deploy(data, pipeline, **variables)
        assert found["__typename"] == "ValidationError", found
        return [(e["path"], e["code"]) for e in found["errors"]]

    async def test_a_cron_that_does_not_parse(self, data: GraphQL) -> None:
        await _defined(data, "a")
        errors = await self._error(data, "a", s={"cron": "61 * * * *"})
        assert errors == [(["schedule", "cron"], "invalid_cron")]

    async def test_a_cron_that_never_fires_or_is_huge(self, data: GraphQL) -> None:
        await _defined(data, "a")
        for cron in ("0 0 31 2 *", "1," * 5_000 + "1 * * * *"):
            errors = await self._error(data, "a", s={"cron": cron})
            assert errors == [(["schedule", "cron"], "invalid_cron")]

    async def test_both_or_neither_of_cron_and_interval(self, data: GraphQL) -> None:
        await _defined(data, "a")
        both = {"cron": "* * * * *", "intervalSeconds": 5}
        assert await self._error(data, "a", s=both) == [
            (["schedule"], "invalid_schedule")
        ]
        assert await self._error(data, "a", s={}) == [
            (["schedule"], "invalid_schedule")
        ]

    async def test_an_interval_below_one_second(self, data: GraphQL) -> None:
        await _defined(data, "a")
        errors = await self._error(data, "a", s={"intervalSeconds": 0})
        assert errors == [(["schedule", "intervalSeconds"], "invalid_interval")]

    async def test_unknown_pipelines(self, data: GraphQL) -> None:
        await _defined(data, "a")
        missing = await self._error(data, "nope", s={"intervalSeconds": 5})
        assert missing == [(["pipeline"], "unknown_pipeline")]
        dependency = await self._error(data, "a", d=["nope"])
        assert dependency == [(["dependsOn", "nope"], "unknown_pipeline")]

    async def test_a_dependency_cycle(self, data: GraphQL) -> None:
        await _defined(data, "a", "b", "c")
        await _deploy(data, "a", d=["b"])
        await _deploy(data, "b", d=["c"])
        found = await _deploy(data, "c", d=["a"])
        assert found["errors"][0]["code"] == "dependency_cycle"
        assert "c -> a -> b -> c" in found["message"]
        itself = await self._error(data, "a", d=["a"])
        assert itself == [(["dependsOn"], "dependency_cycle")]
