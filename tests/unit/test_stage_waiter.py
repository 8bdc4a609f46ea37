"""StageWaiter: waits satisfied by other processes' progress, seen by polling the
durable checkpoint at the configured interval, and only while someone waits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.bootstrap import open_container
from app.settings import Settings
from projections.status import StageWaiter


class Checkpoint:
    """The durable checkpoint another process moves; counts how often it is read."""

    def __init__(self) -> None:
        self.position = 0
        self.loads = 0

    async def load(self, stage: str, db: str) -> int:
        self.loads += 1
        return self.position


def polled() -> tuple[Checkpoint, StageWaiter]:
    checkpoint = Checkpoint()
    return checkpoint, StageWaiter(checkpoint.load, poll_interval=0.01)


async def test_progress_made_elsewhere_ends_the_wait() -> None:
    checkpoint, waiter = polled()
    waiting = asyncio.create_task(waiter.wait("APPLIED", "db", 7, max_wait=10))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    checkpoint.position = 7
    assert await waiting is True
    assert waiter.reached("APPLIED", "db") == 7


async def test_nobody_waiting_means_no_polling() -> None:
    checkpoint, waiter = polled()
    checkpoint.position = 3
    assert await waiter.wait("INDEXED", "db", 3, max_wait=10) is True
    await asyncio.sleep(0.05)  # let the poller see that nobody waits any more
    settled = checkpoint.loads
    await asyncio.sleep(0.1)
    assert checkpoint.loads == settled


async def test_a_wait_past_the_checkpoint_times_out() -> None:
    checkpoint, waiter = polled()
    checkpoint.position = 4
    assert await waiter.wait("APPLIED", "db", 5, max_wait=0.1) is False


@pytest.mark.parametrize("value", [0, -0.5])
def test_a_poll_interval_that_is_not_positive_is_refused_by_name(value: float) -> None:
    with pytest.raises(ValidationError, match="SPICE_STAGE_POLL_INTERVAL"):
        Settings(stage_poll_interval=value)


async def test_the_container_polls_at_the_configured_interval(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}",
        search_url=f"sqlite:///{tmp_path / 'search.db'}",
        blob_url=f"file://{tmp_path / 'blobs'}",
        stage_poll_interval=0.02,
    )
    async with open_container(settings) as container:
        assert container.waiter.poll_interval == 0.02
