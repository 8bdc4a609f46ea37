"""The in-process relay publishes a commit at once, not at its next poll."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.bootstrap import Container
from app.settings import Settings
from domain import commands as c
from tests.commands.conftest import CUSTOMER, run
from tests.conftest import make_settings

# Far longer than the waits below: only a wake-up on commit can meet them.
RELAY_POLL_SECONDS = 300.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, relay_poll_interval=RELAY_POLL_SECONDS)


async def test_a_commit_wakes_the_idle_relay(running: Container) -> None:
    for command in (
        c.CreateDatabase(name="shop"),
        c.DefineClass(db="shop", definition=CUSTOMER),
        c.CreateInstance(db="shop", class_id="Customer", data={"customer_id": "C1"}),
    ):
        receipt = await run(running, command)
        # Each command finds the relay idle (it published the one before).
        assert await running.waiter.wait(
            "APPLIED", "shop", receipt.last_position, max_wait=30
        )
