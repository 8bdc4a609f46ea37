"""R8 and R14: a dependency goes away under load and comes back.

The service that goes down is one of the test's own (scripts/services.sh under a
private state folder, stopped with `stop NAME` and brought back on the same port,
with its data, by `start NAME`), so the shared services other tests use never blink.

R8  Kafka stops while commands are submitted: writes are still accepted and stay
    ACCEPTED; when it is back, every status converges to COMPLETED and graph and
    search equal a clean run.
R14 OpenSearch stops: commands reach APPLIED and stay there (not COMPLETED, not
    FAILED), searches raise StoreUnavailable instead of answering wrongly, graph
    reads keep working; when it is back the index catches up, hash-equal to a clean
    run. PostgreSQL stops: a command fails fast with a retriable StoreUnavailable and
    nothing is half-written; retried with the same command id after the restart it
    is stored exactly once.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.errors import StoreUnavailable
from app.bootstrap import WORKER_NAMES, Container, open_container, run_workers
from app.settings import Settings
from domain import commands as c
from tests.conftest import require_service
from tests.production.conftest import (
    KAFKA,
    POSTGRES,
    SEARCH,
    Indexes,
    Topics,
    admin_execute,
    delete_indexes,
    production_settings,
    unique,
)
from tests.production.support import (
    all_events,
    clean_run_hashes,
    delete_topics,
    live_hashes,
    positions,
    private_services,
    states,
    stored_commands,
    tracked_ids,
    wait_for_states,
)
from tests.reliability.conftest import (
    DB,
    ITEM,
    command_meta,
    create_item,
    create_items,
    update_item,
)
from tests.reliability.support import main_scope
from tests.stacks import TERMINUS

pytestmark = pytest.mark.timeout(90)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Container]:
    """A container with the relay and every consumer running, stopped afterwards."""
    async with open_container(settings) as container:
        stop = asyncio.Event()
        workers = asyncio.create_task(run_workers(container, WORKER_NAMES, stop))
        try:
            yield container
        finally:
            stop.set()
            await asyncio.wait_for(workers, timeout=30)


async def dispatch(container: Container, command: c.Command) -> str:
    receipt = await container.handlers.dispatch(command, command_meta())
    return receipt.command_id


async def define_shop(container: Container) -> list[str]:
    return [
        await dispatch(container, c.CreateDatabase(name=DB)),
        await dispatch(container, c.DefineClass(db=DB, definition=ITEM)),
    ]


@dataclass(slots=True)
class Writer:
    """Submits commands back to back (creates and updates of its own items) and
    records when each was accepted; any failure is recorded, not swallowed."""

    container: Container
    rng: random.Random = field(default_factory=lambda: random.Random(8))
    accepted: list[tuple[float, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    heads: dict[str, int] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event, *, pause: float = 0.02) -> None:
        while not stop.is_set():
            if self.heads and self.rng.random() < 0.5:
                sku = self.rng.choice(sorted(self.heads))
                command: c.Command = update_item(
                    sku=sku, expected_seq=self.heads[sku], n=self.rng.randrange(100)
                )
            else:
                sku = f"w-{uuid.uuid4().hex[:8]}"
                command = create_item(sku=sku)
            try:
                command_id = await dispatch(self.container, command)
            except Exception as error:
                self.failures.append(f"{type(error).__name__}: {error}")
                return
            self.heads[sku] = self.heads.get(sku, 0) + 1
            self.accepted.append((time.monotonic(), command_id))
            await asyncio.sleep(pause)

    def since(self, moment: float) -> list[str]:
        return [command_id for at, command_id in self.accepted if at >= moment]


async def converged(container: Container, tmp_path: Path) -> None:
    """Gapless log; graph and search hash-equal to a clean run; each event tracked
    once per consumer; nothing dead-lettered."""
    events = await all_events(container)
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    assert await live_hashes(container) == await clean_run_hashes(
        container, events, tmp_path
    ), "graph or search differs from a clean run"
    expected = sorted(e.event_id for e in events)
    for consumer in ("graph", "search"):
        assert sorted(await tracked_ids(container, consumer)) == expected, consumer
    assert await container.consumer_state.dead_letters() == []


# --- R8 --------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.opensearch
async def test_r8_kafka_restart_keeps_accepting_and_converges(
    pg_url: str, indexes: Indexes, tmp_path: Path
) -> None:
    require_service(*KAFKA)
    async with private_services() as services:
        bootstrap = (await services.up("kafka"))["SPICE_TEST_KAFKA_BOOTSTRAP"]
        topics = Topics(bootstrap, unique())
        settings = production_settings(
            pg_url,
            tmp_path,
            bus_url=topics.bus_url(request_timeout_ms=3000),
            search_url=indexes.search_url(refresh="false"),
        )
        async with running(settings) as container:
            await wait_for_states(
                container, await define_shop(container), "COMPLETED", within=30
            )
            writer = Writer(container)
            stop_writing = asyncio.Event()
            writing = asyncio.create_task(writer.run(stop_writing))
            try:
                await asyncio.sleep(1.0)
                await services.stop("kafka")
                down_since = time.monotonic()
                await asyncio.sleep(4.0)
                during = writer.since(down_since)
                seen_during = await states(container, during)
                await services.start("kafka")
                await asyncio.sleep(1.0)
            finally:
                stop_writing.set()
                await writing
            assert writer.failures == [], writer.failures[:3]
            # Writes were accepted while the broker was down, and went no further.
            assert len(during) >= 10, f"only {len(during)} writes during the outage"
            assert set(seen_during.values()) == {"ACCEPTED"}, seen_during
            everything = [command_id for _, command_id in writer.accepted]
            await wait_for_states(container, everything, "COMPLETED", within=45)
            await converged(container, tmp_path)
        await delete_topics(bootstrap, [topics.events, topics.dead_letters])


# --- R14: search index down ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.opensearch
async def test_r14_opensearch_down_commands_stop_at_applied_and_catch_up(
    pg_url: str, topics: Topics, tmp_path: Path
) -> None:
    require_service(*SEARCH)
    async with private_services() as services:
        search_url = (await services.up("opensearch"))["SPICE_TEST_SEARCH_URL"]
        index = Indexes(search_url, unique())
        settings = production_settings(
            pg_url,
            tmp_path,
            bus_url=topics.bus_url(),
            # Fail fast while it is down: one try, a short timeout.
            search_url=index.search_url(refresh="false", timeout=2, max_retries=0),
        )
        async with running(settings) as container:
            before = await define_shop(container)
            before += [
                await dispatch(container, create_item(sku=f"b{i}")) for i in range(5)
            ]
            await wait_for_states(container, before, "COMPLETED", within=30)

            await services.stop("opensearch")
            during = [
                await dispatch(
                    container,
                    create_items(items=[{"sku": f"d{i}-{k}"} for k in range(3)]),
                )
                for i in range(10)
            ]
            during += [
                await dispatch(
                    container, update_item(sku=f"b{i}", expected_seq=1, note="changed")
                )
                for i in range(5)
            ]
            await wait_for_states(container, during, "APPLIED", within=30)
            await asyncio.sleep(3.0)
            # Honest: still APPLIED (not INDEXED, COMPLETED or FAILED) while it is down.
            assert set((await states(container, during)).values()) == {"APPLIED"}
            assert set((await states(container, before)).values()) == {"COMPLETED"}
            began = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await container.search.search(DB, ["main"], text="changed")
            assert time.monotonic() - began < 10
            nodes = await container.graph.get_many(
                main_scope(), ["Item"], [f"b{i}" for i in range(5)]
            )
            assert {n.values.get("note") for n in nodes.values()} == {"changed"}

            await services.start("opensearch")
            await wait_for_states(container, during, "COMPLETED", within=45)
            await converged(
                container, tmp_path
            )  # (its content hash refreshes the index)
            found = await container.search.search(
                DB, ["main"], class_ids=["Item"], limit=100
            )
            assert len(found) == 5 + 30
        await delete_indexes(search_url, index.prefix)


# --- R14: database down ------------------------------------------------------------------


@pytest.mark.postgres
async def test_r14_database_down_fails_fast_and_retriably_with_nothing_half_written(
    tmp_path: Path,
) -> None:
    require_service(*POSTGRES)
    async with private_services() as services:
        admin = (await services.up("postgres"))["SPICE_TEST_POSTGRES_URL"]
        await admin_execute(admin, 'CREATE DATABASE "spice"')
        settings = production_settings(f"{admin.rpartition('/')[0]}/spice", tmp_path)
        async with open_container(settings) as container:
            await define_shop(container)
            for i in range(5):
                await dispatch(
                    container,
                    create_items(items=[{"sku": f"a{i}-{k}"} for k in range(20)]),
                )

            await services.stop("postgres")
            bulk = create_items(items=[{"sku": f"x-{k}", "n": k} for k in range(200)])
            failed: list[tuple[str, float, StoreUnavailable]] = []
            for name, command in (
                ("bulk", bulk),
                ("update", update_item(sku="a0-0", expected_seq=1, n=7)),
                ("create", create_item(sku="y")),
            ):
                began = time.monotonic()
                with pytest.raises(StoreUnavailable) as caught:
                    await container.handlers.dispatch(
                        command, command_meta(f"down-{name}")
                    )
                failed.append((name, time.monotonic() - began, caught.value))
            assert all(error.retriable for *_, error in failed)
            assert max(seconds for _, seconds, _ in failed) < 5, failed

            await services.start("postgres")
            receipt, attempts = None, 0
            deadline = time.monotonic() + 20
            while receipt is None:
                attempts += 1
                try:
                    receipt = await container.handlers.dispatch(
                        bulk, command_meta("down-bulk")
                    )
                except StoreUnavailable:
                    assert time.monotonic() < deadline, (
                        "the database came back but writes still fail"
                    )
                    await asyncio.sleep(0.2)
            assert not receipt.duplicate
            again = await container.handlers.dispatch(bulk, command_meta("down-bulk"))
            assert again.duplicate
            assert (again.first_position, again.last_position) == (
                receipt.first_position,
                receipt.last_position,
            )

            stored = await stored_commands(container)
            assert stored["down-bulk"] == (200, 1, 1)
            assert "down-update" not in stored
            assert "down-create" not in stored
            assert all(
                outbox == 1 and rows == 1 for _, outbox, rows in stored.values()
            ), stored
            found = await positions(container)
            assert found == list(range(1, len(found) + 1))
            assert attempts <= 20


# --- R14: TerminusDB (the graph store) down -------------------------------------------------


@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.terminus
async def test_r14_terminusdb_down_commands_stop_at_accepted_and_catch_up(
    pg_url: str, topics: Topics, tmp_path: Path
) -> None:
    """The graph store on its own server goes away: writes are still accepted
    and stay short of APPLIED, graph reads raise StoreUnavailable within the
    configured timeout instead of answering wrongly, search keeps answering;
    when it is back the graph catches up, hash-equal to a clean run."""
    require_service(*TERMINUS)
    async with private_services() as services:
        terminus_url = (await services.up("terminusdb"))["SPICE_TEST_TERMINUSDB_URL"]
        settings = production_settings(
            pg_url,
            tmp_path,
            bus_url=topics.bus_url(),
            graph_url=f"{terminus_url}&prefix={unique()}&timeout=2",
        )
        async with running(settings) as container:
            before = await define_shop(container)
            before += [
                await dispatch(container, create_item(sku=f"b{i}")) for i in range(5)
            ]
            await wait_for_states(container, before, "COMPLETED", within=30)

            await services.stop("terminusdb")
            during = [
                await dispatch(
                    container, update_item(sku=f"b{i}", expected_seq=1, note="changed")
                )
                for i in range(5)
            ]
            await asyncio.sleep(3.0)
            # Honest: accepted, not APPLIED, COMPLETED or FAILED while it is down.
            assert set((await states(container, during)).values()) <= {
                "ACCEPTED",
                "INDEXED",
            }
            began = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await container.graph.get_many(main_scope(), ["Item"], ["b0"])
            assert time.monotonic() - began < 10
            assert len(await container.search.search(DB, ["main"], text="changed")) == 5

            await services.start("terminusdb")
            await wait_for_states(container, during, "COMPLETED", within=60)
            await converged(container, tmp_path)
            nodes = await container.graph.get_many(
                main_scope(), ["Item"], [f"b{i}" for i in range(5)]
            )
            assert {n.values.get("note") for n in nodes.values()} == {"changed"}
