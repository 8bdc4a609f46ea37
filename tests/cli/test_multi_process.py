"""One API-side process writes; separate `spice worker` processes project."""

from __future__ import annotations

import signal
from pathlib import Path

from app.bootstrap import open_container
from domain import commands as c
from tests.cli.test_serve_and_worker import clean_env, log_of, spice
from tests.conftest import make_settings


async def test_worker_processes_bring_commands_to_completed(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'spice.db'}", tmp_path)
    env = clean_env(
        SPICE_DATABASE_URL=settings.database_url,
        SPICE_SEARCH_URL=settings.search_url,
        SPICE_RETRY_BASE_DELAY="0.01",
    )
    async with open_container(settings) as container:
        meta = c.CommandMeta(command_id="mp-db")
        await container.handlers.dispatch(c.CreateDatabase(name="multi"), meta)
        definition = {
            "id": "Thing",
            "label": "Thing",
            "primary_key": "thing_id",
            "properties": [{"name": "thing_id", "type": "string", "required": True}],
        }
        await container.handlers.dispatch(
            c.DefineClass(db="multi", definition=definition),
            c.CommandMeta(command_id="mp-class"),
        )
        items = [{"thing_id": f"T{i}"} for i in range(200)]
        receipt = await container.handlers.dispatch(
            c.CreateInstances(db="multi", class_id="Thing", items=items),
            c.CommandMeta(command_id="mp-bulk"),
        )
        workers = [
            spice(["worker", name], tmp_path / name, env)
            for name in ("graph", "search")
        ]
        try:
            applied = await container.waiter.wait(
                "APPLIED", "multi", receipt.last_position, max_wait=60
            )
            indexed = await container.waiter.wait(
                "INDEXED", "multi", receipt.last_position, max_wait=60
            )
            status = await container.status.status("mp-bulk")
        finally:
            for process in workers:
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=30) for process in workers]
        assert applied, log_of(tmp_path / "graph")
        assert indexed, log_of(tmp_path / "search")
        assert status is not None
        assert status.state == "COMPLETED"
        assert codes == [0, 0]
        hits = await container.search.search("multi", ["main"], text="T199")
        assert [d.instance_id for d in hits] == ["T199"]
