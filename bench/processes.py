"""Workers as their own processes (`spice worker NAME`), as production runs them
beside `spice serve --no-workers`; only possible with a durable bus (Kafka)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from app.bootstrap import WORKER_NAMES
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
STOP_SECONDS = 30


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a `spice` process exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPICE_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"SPICE_{name.upper()}"] = str(value)
    # The API process has migrated the database already.
    env.update(PYTHONPATH=str(ROOT), SPICE_AUTO_MIGRATE="false")
    return env


@asynccontextmanager
async def worker_processes(settings: Settings) -> AsyncIterator[None]:
    """One process per worker (relay and every projection), stopped by SIGTERM on
    exit; a worker that died on the way fails the benchmark with its log."""
    with tempfile.TemporaryDirectory() as logs:
        env = worker_env(settings)
        started = [await _start(name, env, Path(logs)) for name in WORKER_NAMES]
        try:
            yield
            dead = [name for name, p in started if p.returncode is not None]
            if dead:
                raise SystemExit(f"workers died: {dead}\n{_tails(Path(logs), dead)}")
        finally:
            await _stop([p for _, p in started])


async def _start(
    name: str, env: dict[str, str], logs: Path
) -> tuple[str, asyncio.subprocess.Process]:
    with (logs / f"{name}.log").open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "worker",
            name,
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )
    return name, process


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(p.wait() for p in processes)), STOP_SECONDS
        )
    except TimeoutError:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


def _tails(logs: Path, names: list[str]) -> str:
    return "\n".join(
        f"--- {n}\n{(logs / f'{n}.log').read_text(errors='replace')[-2000:]}"
        for n in names
    )
