"""A writer process for R3: appends bulk commands until it is killed.

    python -m tests.reliability.append_process PREFIX SIZE COUNT

Settings come from SPICE_* variables. Prints `ready`, then `start ID` before and
`done ID` after each command (flushed), so the killer knows what was in flight.
"""

from __future__ import annotations

import asyncio
import sys

from app.bootstrap import open_container
from app.settings import Settings
from domain import commands as c
from domain.commands import CommandMeta


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(prefix: str, size: int, count: int) -> None:
    async with open_container(Settings()) as container:
        say("ready")
        for k in range(count):
            command_id = f"{prefix}-{k}"
            items = [{"sku": f"{command_id}-{i}", "n": i} for i in range(size)]
            command = c.CreateInstances(db="shop", class_id="Item", items=items)
            meta = CommandMeta(command_id=command_id, client_command_id=True)
            say(f"start {command_id}")
            await container.handlers.dispatch(command, meta)
            say(f"done {command_id}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
