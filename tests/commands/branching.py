"""Helpers of the branch tests (merge, rebase, revert, proposals): products of
the `shop` database read and written through the command handler."""

from __future__ import annotations

from typing import Any

from app.bootstrap import Container
from domain import commands as c
from domain.commands import Receipt
from domain.events import INSTANCE, MAIN_BRANCH, StreamId
from tests.commands.conftest import run


async def state(
    container: Container, product: str, branch: str = MAIN_BRANCH
) -> dict[str, Any] | None:
    stream = StreamId("shop", branch, INSTANCE, f"Product/{product}")
    tip = (await container.event_store.last_events([stream])).get(stream)
    if tip is None or tip.event_type == "instance.deleted.v1":
        return None
    return {**tip.data["values"], **tip.data["links"]}


async def head(container: Container) -> int:
    return (await container.event_store.last_positions())["shop"]


async def create(
    container: Container, pid: str, branch: str = MAIN_BRANCH, **values: Any
) -> Receipt:
    data = {"product_id": pid, "name": pid, **values}
    return await run(
        container,
        c.CreateInstance(db="shop", branch=branch, class_id="Product", data=data),
    )


async def update(
    container: Container, pid: str, branch: str = MAIN_BRANCH, **patch: Any
) -> Receipt:
    stream = StreamId("shop", branch, INSTANCE, f"Product/{pid}")
    seq = await container.event_store.stream_head(stream)
    command = c.UpdateInstance(
        db="shop",
        branch=branch,
        class_id="Product",
        instance_id=pid,
        patch=patch,
        expected_seq=seq,
    )
    return await run(container, command)


async def delete(container: Container, pid: str, branch: str = MAIN_BRANCH) -> Receipt:
    stream = StreamId("shop", branch, INSTANCE, f"Product/{pid}")
    seq = await container.event_store.stream_head(stream)
    command = c.DeleteInstance(
        db="shop", branch=branch, class_id="Product", instance_id=pid, expected_seq=seq
    )
    return await run(container, command)


async def branch(container: Container, name: str, source: str = MAIN_BRANCH) -> None:
    await run(container, c.CreateBranch(db="shop", name=name, from_branch=source))
