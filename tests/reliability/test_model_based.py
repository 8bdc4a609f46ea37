"""R17 Model-based test: a Hypothesis state machine drives the real handlers, event
store, relay-like publishing, consumers and rebuild, and checks them against a
plain model of the instances after every step.

Rules: append ok / stale / to a deleted instance, retry a command (same or other
payload), publish, crash and rewind the relay, deliver (plain, duplicated,
reordered), crash the consumers (after the sink write, before the offset commit)
and restart them, rebuild a projection, drain. Invariants after every step: each
stored stream is gapless and equals the model; no projection shows a state the
store never had; after draining, projections equal the model and a clean run.

Hypothesis is synchronous, so the machine runs in a worker thread and sends each
coroutine to the test's event loop, where the container lives.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.bootstrap import Container
from app.rebuild import rebuild
from domain import commands as c
from domain.commands import Receipt
from domain.errors import ConcurrencyConflict, IdempotencyConflict, NotFoundError
from domain.events import INSTANCE_DELETED, EventEnvelope
from projections.graph import GraphProjection
from projections.search import SearchProjection
from tests.reliability.conftest import define_shop, send
from tests.reliability.support import (
    SimulatedCrash,
    clean_hashes,
    item_stream,
    main_scope,
)
from workers.consumer import ProjectionConsumer

T = TypeVar("T")
SKUS = [f"s{k}" for k in range(5)]
_databases = itertools.count()


@dataclass(slots=True)
class Instance:
    seq: int
    values: dict[str, Any]
    deleted: bool = False


@dataclass(slots=True)
class Crashing:
    """Wraps a projection; when armed, dies right after the sink write."""

    inner: Any
    name: str = ""
    armed: bool = False

    def __post_init__(self) -> None:
        self.name = self.inner.name

    async def apply(self, events: Any) -> None:
        await self.inner.apply(events)
        if self.armed:
            self.armed = False
            raise SimulatedCrash("killed after the sink write")


@dataclass(slots=True)
class Bus:
    """An at-least-once log: the relay appends, the consumers fetch and commit."""

    log: list[EventEnvelope] = field(default_factory=list)
    published: int = 0  # relay position (in memory)
    relay_saved: int = 0  # relay checkpoint (durable)
    fetched: int = 0  # consumer's next offset (in memory)
    committed: int = 0  # consumer group's committed offset (durable)


class StoreAndConsumers(RuleBasedStateMachine):
    container: Container
    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.db = f"model-{next(_databases)}"
        self.model: dict[str, Instance] = {}
        self.accepted: list[tuple[str, c.Command, Receipt]] = []
        self.ids = itertools.count()
        self.bus = Bus()
        self.run(define_shop(self.container, db=self.db))
        self.start_consumers()

    # --- plumbing -----------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def start_consumers(self) -> None:
        ct = self.container
        self.projections = [
            Crashing(GraphProjection(ct.graph)),
            Crashing(SearchProjection(ct.search)),
        ]
        self.consumers = [
            ProjectionConsumer(
                p, ct.consumer_state, ct.event_store, retry=ct.retry_policy()
            )
            for p in self.projections
        ]

    def dispatch(self, command: c.Command, command_id: str | None = None) -> Receipt:
        command_id = command_id or f"{self.db}-cmd-{next(self.ids)}"
        receipt = self.run(send(self.container, command, command_id))
        if not receipt.duplicate:
            self.accepted.append((command_id, command, receipt))
        return receipt

    def head(self) -> int:
        return self.run(self.container.event_store.last_positions()).get(self.db, 0)

    def live(self) -> list[str]:
        return sorted(s for s, i in self.model.items() if not i.deleted)

    def handle(self, batch: list[EventEnvelope]) -> None:
        for consumer in self.consumers:
            self.run(consumer.handle(batch))

    # --- appends ------------------------------------------------------------------

    @rule(k=st.sampled_from(range(len(SKUS))), n=st.integers(0, 9))
    def create(self, k: int, n: int) -> None:
        sku = SKUS[k]
        command = c.CreateInstance(
            db=self.db, class_id="Item", data={"sku": sku, "n": n}
        )
        if sku in self.model:  # exists or was deleted: seq 0 is stale
            head = self.head()
            with pytest.raises(ConcurrencyConflict) as conflict:
                self.dispatch(command)
            assert conflict.value.actual == self.model[sku].seq
            assert self.head() == head
            return
        receipt = self.dispatch(command)
        assert receipt.seq == 1
        self.model[sku] = Instance(1, {"sku": sku, "n": n})

    @precondition(lambda self: bool(self.live()))
    @rule(pick=st.integers(0, 100), n=st.integers(0, 9))
    def update(self, pick: int, n: int) -> None:
        sku = self.live()[pick % len(self.live())]
        instance = self.model[sku]
        receipt = self.dispatch(
            c.UpdateInstance(
                db=self.db,
                class_id="Item",
                instance_id=sku,
                patch={"n": n},
                expected_seq=instance.seq,
            )
        )
        assert receipt.seq == instance.seq + 1
        instance.seq += 1
        instance.values = {**instance.values, "n": n}

    @precondition(lambda self: bool(self.live()))
    @rule(pick=st.integers(0, 100), delta=st.sampled_from([-2, -1, 1, 3]))
    def update_stale(self, pick: int, delta: int) -> None:
        sku = self.live()[pick % len(self.live())]
        instance = self.model[sku]
        expected = max(0, instance.seq + delta)
        head = self.head()
        command = c.UpdateInstance(
            db=self.db,
            class_id="Item",
            instance_id=sku,
            patch={"n": 99},
            expected_seq=expected,
        )
        with pytest.raises(ConcurrencyConflict) as conflict:
            self.dispatch(command)
        assert (conflict.value.expected, conflict.value.actual) == (
            expected,
            instance.seq,
        )
        assert self.head() == head

    @precondition(lambda self: bool(self.live()))
    @rule(pick=st.integers(0, 100))
    def delete(self, pick: int) -> None:
        sku = self.live()[pick % len(self.live())]
        instance = self.model[sku]
        self.dispatch(
            c.DeleteInstance(
                db=self.db, class_id="Item", instance_id=sku, expected_seq=instance.seq
            )
        )
        instance.seq += 1
        instance.deleted = True

    @precondition(lambda self: any(i.deleted for i in self.model.values()))
    @rule(pick=st.integers(0, 100))
    def update_deleted(self, pick: int) -> None:
        deleted = sorted(s for s, i in self.model.items() if i.deleted)
        sku = deleted[pick % len(deleted)]
        command = c.UpdateInstance(
            db=self.db,
            class_id="Item",
            instance_id=sku,
            patch={"n": 1},
            expected_seq=self.model[sku].seq,
        )
        with pytest.raises(NotFoundError):
            self.dispatch(command)

    @precondition(lambda self: bool(self.accepted))
    @rule(pick=st.integers(0, 1000))
    def retry_same_command(self, pick: int) -> None:
        command_id, command, receipt = self.accepted[pick % len(self.accepted)]
        head = self.head()
        again = self.dispatch(command, command_id)
        assert again == dataclasses.replace(receipt, duplicate=True)
        assert self.head() == head

    @precondition(lambda self: bool(self.accepted))
    @rule(pick=st.integers(0, 1000))
    def retry_with_another_payload(self, pick: int) -> None:
        command_id, _, _ = self.accepted[pick % len(self.accepted)]
        head = self.head()
        other = c.CreateInstance(
            db=self.db, class_id="Item", data={"sku": "other", "n": 1}
        )
        with pytest.raises(IdempotencyConflict):
            self.dispatch(other, command_id)
        assert self.head() == head

    # --- relay and delivery -------------------------------------------------------

    @rule(save=st.booleans())
    def publish(self, save: bool) -> None:
        new = self.run(
            self.container.event_store.read_positions(
                self.db, after_position=self.bus.published, limit=1000
            )
        )
        self.bus.log.extend(new)
        if new:
            self.bus.published = new[-1].position
        if save:
            self.bus.relay_saved = self.bus.published

    @rule()
    def crash_relay(self) -> None:
        """Published but not checkpointed: the restarted relay sends it again."""
        self.bus.published = self.bus.relay_saved

    def next_batch(self, size: int) -> list[EventEnvelope]:
        return self.bus.log[self.bus.fetched : self.bus.fetched + size]

    @rule(
        size=st.integers(1, 8),
        how=st.sampled_from(["plain", "duplicated", "reordered"]),
        seed=st.integers(0, 1000),
    )
    def deliver(self, size: int, how: str, seed: int) -> None:
        batch = self.next_batch(size)
        rng = random.Random(seed)
        if how == "duplicated":
            batch = [e for e in batch for _ in range(rng.randint(1, 3))]
        elif how == "reordered":
            rng.shuffle(batch)
        self.handle(batch)
        self.bus.fetched += size
        self.bus.fetched = min(self.bus.fetched, len(self.bus.log))
        self.bus.committed = self.bus.fetched

    @rule(
        size=st.integers(1, 8), where=st.sampled_from(["after_sink", "before_commit"])
    )
    def crash_consumers(self, size: int, where: str) -> None:
        batch = self.next_batch(size)
        if where == "after_sink":
            for projection in self.projections:
                projection.armed = bool(batch)
            for consumer in self.consumers:
                with contextlib.suppress(SimulatedCrash):
                    self.run(consumer.handle(batch))
        else:
            self.handle(batch)  # handled, but the offset commit never happens
        # Restart: new consumer instances, redelivery from the committed offset.
        self.start_consumers()
        self.bus.fetched = self.bus.committed

    @rule(name=st.sampled_from(["graph", "search"]))
    def rebuild_projection(self, name: str) -> None:
        self.run(rebuild(self.container, name))

    @rule()
    def drain(self) -> None:
        self.drain_everything()

    def drain_everything(self) -> None:
        self.bus.published = self.bus.relay_saved = self.head()
        self.bus.log.extend(
            self.run(
                self.container.event_store.read_positions(
                    self.db, after_position=0, limit=100_000
                )
            )
        )
        self.handle(self.bus.log[self.bus.fetched :])
        self.bus.fetched = self.bus.committed = len(self.bus.log)
        self.run(self.check_converged())

    async def check_converged(self) -> None:
        ct = self.container
        live = self.live()
        nodes = await ct.graph.get_many(main_scope(self.db), ["Item"], SKUS)
        assert {s: (n.seq, dict(n.values)) for s, n in nodes.items()} == {
            s: (self.model[s].seq, self.model[s].values) for s in live
        }
        docs = await ct.search.get_many(self.db, ["main"], [("Item", s) for s in SKUS])
        assert {k[2]: (d.seq, d.deleted) for k, d in docs.items()} == {
            s: (i.seq, i.deleted) for s, i in self.model.items()
        }
        events = await ct.event_store.read_positions(
            self.db, after_position=0, limit=100_000
        )
        assert (
            await ct.graph.content_hash(self.db),
            await ct.search.content_hash(self.db),
        ) == await clean_hashes(ct, events, db=self.db)
        for consumer in self.consumers:
            assert (await ct.consumer_state.checkpoints(consumer.name)).get(
                self.db
            ) == events[-1].position
        for consumer in self.consumers:
            parked = [
                s
                for s in await ct.consumer_state.parked_streams(consumer.name)
                if s.db == self.db
            ]
            assert parked == [], (
                f"{consumer.name} keeps parked events after draining: {parked}"
            )

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def store_equals_model(self) -> None:
        self.run(self.check_store())

    async def check_store(self) -> None:
        store = self.container.event_store
        for sku, instance in self.model.items():
            events = await store.read_stream(item_stream(sku, db=self.db))
            assert [e.seq for e in events] == list(range(1, instance.seq + 1)), (
                f"{sku} stream is not gapless"
            )
            last = events[-1]
            assert (last.event_type == INSTANCE_DELETED) == instance.deleted
            if not instance.deleted:
                assert dict(last.data["values"]) == instance.values
        for sku in set(SKUS) - set(self.model):
            assert await store.read_stream(item_stream(sku, db=self.db)) == []

    @invariant()
    def graph_shows_only_stored_states(self) -> None:
        self.run(self.check_graph_prefix())

    async def check_graph_prefix(self) -> None:
        ct = self.container
        nodes = await ct.graph.get_many(main_scope(self.db), ["Item"], SKUS)
        for sku, node in nodes.items():
            assert sku in self.model
            assert node.seq <= self.model[sku].seq
            stored = (await ct.event_store.read_stream(item_stream(sku, db=self.db)))[
                node.seq - 1
            ]
            assert dict(node.values) == dict(stored.data["values"]), (
                f"{sku} shows a state the store never had"
            )

    def teardown(self) -> None:
        self.drain_everything()


async def test_store_and_consumers_match_the_model(container: Container) -> None:
    StoreAndConsumers.container = container
    StoreAndConsumers.loop = asyncio.get_running_loop()
    run = settings(
        max_examples=25,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    await asyncio.to_thread(run_state_machine_as_test, StoreAndConsumers, settings=run)
