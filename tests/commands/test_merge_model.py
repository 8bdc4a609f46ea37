"""Model-based: random writes on two branches, merged through the command handler,
against the reference three-way merge of plain dicts (tests/merge_reference.py).

Each example gets a fresh database: a few products on main, a branch `feature`,
random creates, patches and deletes on both, then a merge with a random
strategy; a second round of writes and a second merge checks that the base
moved to the source snapshot the first merge brought in. The model knows
nothing of events: a branch is a dict of product states.

Hypothesis is synchronous: it runs in a worker thread and sends each example's
coroutine to the test's event loop, where the container lives.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.bootstrap import Container
from domain import commands as c
from domain.errors import NotFoundError
from domain.events import INSTANCE, StreamId
from domain.merge.three_way import MergeConflict, State, Strategy
from tests.commands.conftest import run
from tests.merge_reference import reference

EXAMPLES = 25
pytestmark = pytest.mark.timeout(600)
KEYS = ("p0", "p1", "p2", "p3")
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "primary_key": "product_id",
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "stock", "type": "integer"},
    ],
}
_names = itertools.count()

Model = dict[str, State]
values = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["a", "b"]),
        "stock": st.integers(0, 1),
    },
)


@dataclass(frozen=True, slots=True)
class Write:
    """On `key`: create (if absent) with `fields`, else patch with them, or delete."""

    key: str
    delete: bool
    fields: dict[str, Any]


writes = st.lists(
    st.builds(
        Write,
        st.sampled_from(KEYS),
        st.booleans(),
        st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["a", "b", None]),
                "stock": st.sampled_from([0, 1, None]),
            },
        ),
    ),
    max_size=6,
)


@dataclass(frozen=True, slots=True)
class World:
    base: dict[str, dict[str, Any]]
    rounds: list[tuple[list[Write], list[Write], Strategy]]


worlds = st.builds(
    World,
    st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    st.lists(
        st.tuples(writes, writes, st.sampled_from(list(Strategy))),
        min_size=1,
        max_size=2,
    ),
)


async def apply(
    container: Container, db: str, branch: str, model: Model, write: Write
) -> None:
    """Runs the write if it makes sense on the model, and keeps the model in step."""
    current = model.get(write.key)
    if write.delete:
        if current is not None:
            await _delete(container, db, branch, write.key)
            model[write.key] = None
        return
    if current is None:
        fields = {k: v for k, v in write.fields.items() if v is not None}
        item = {"product_id": write.key, **fields}
        await run(
            container,
            c.UpsertInstances(db=db, branch=branch, class_id="Product", items=[item]),
        )
        model[write.key] = item
        return
    if write.fields:
        await _patch(container, db, branch, write.key, write.fields)
        patched = {**current, **write.fields}
        model[write.key] = {k: v for k, v in patched.items() if v is not None}


async def _head(container: Container, db: str, branch: str, key: str) -> int:
    return await container.event_store.stream_head(
        StreamId(db, branch, INSTANCE, f"Product/{key}")
    )


async def _delete(container: Container, db: str, branch: str, key: str) -> None:
    seq = await _head(container, db, branch, key)
    command = c.DeleteInstance(
        db=db, branch=branch, class_id="Product", instance_id=key, expected_seq=seq
    )
    await run(container, command)


async def _patch(
    container: Container, db: str, branch: str, key: str, patch: dict[str, Any]
) -> None:
    seq = await _head(container, db, branch, key)
    command = c.UpdateInstance(
        db=db,
        branch=branch,
        class_id="Product",
        instance_id=key,
        patch=patch,
        expected_seq=seq,
    )
    await run(container, command)


async def stored(container: Container, db: str, branch: str) -> Model:
    streams = [StreamId(db, branch, INSTANCE, f"Product/{k}") for k in KEYS]
    tips = await container.event_store.last_events(streams)
    found: Model = dict.fromkeys(KEYS)
    for stream, tip in tips.items():
        if tip.event_type != "instance.deleted.v1":
            found[stream.aggregate_id.partition("/")[2]] = dict(tip.data["values"])
    return found


async def check(container: Container, world: World) -> None:
    db = f"model{next(_names)}"
    await run(container, c.CreateDatabase(name=db))
    await run(container, c.DefineClass(db=db, definition=PRODUCT))
    target: Model = dict.fromkeys(KEYS)
    for key, fields in world.base.items():
        await apply(container, db, "main", target, Write(key, False, fields))
    await run(container, c.CreateBranch(db=db, name="feature"))
    base, source = dict(target), dict(target)
    for source_writes, target_writes, strategy in world.rounds:
        for s, t in itertools.zip_longest(source_writes, target_writes):
            if s is not None:
                await apply(container, db, "feature", source, s)
            if t is not None:
                await apply(container, db, "main", target, t)
        expected = {k: reference(base[k], source[k], target[k], strategy) for k in KEYS}
        conflicts = {k: c for k, (_, c) in expected.items() if c is not None}
        merge = c.MergeBranch(db=db, source="feature", strategy=strategy.value)
        if conflicts and strategy is Strategy.FAIL:
            with pytest.raises(MergeConflict) as raised:
                await run(container, merge)
            reported = {
                x.key.partition("/")[2]: (x.kind, {f.name for f in x.fields})
                for x in raised.value.conflicts
            }
            assert reported == conflicts
            assert await stored(container, db, "main") == target
            return
        await run(container, merge)
        target = {k: merged for k, (merged, _) in expected.items()}
        assert await stored(container, db, "main") == target
        base = dict(source)


def _examples(
    loop: asyncio.AbstractEventLoop, check: Callable[[World], Coroutine[Any, Any, None]]
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(world=worlds)
    def examples(world: World) -> None:
        asyncio.run_coroutine_threadsafe(check(world), loop).result(120)

    examples()


async def test_merges_agree_with_the_reference_three_way_merge(
    container: Container,
) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(_examples, loop, lambda world: check(container, world))


async def test_unknown_database_is_not_found(container: Container) -> None:
    with pytest.raises(NotFoundError):
        await run(container, c.MergeBranch(db="nowhere", source="feature"))
