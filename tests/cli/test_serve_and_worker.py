"""`spice serve` and `spice worker` run as real processes and stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spice(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Starts `spice ARGS`; its output goes to cwd/spice.log (read on failure)."""
    command = [sys.executable, "-m", "app.cli", *args]
    cwd.mkdir(parents=True, exist_ok=True)
    with (cwd / "spice.log").open("wb") as log:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def log_of(cwd: Path) -> str:
    return (cwd / "spice.log").read_text(errors="replace")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPICE_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def wait_for_health(
    port: int, process: subprocess.Popen[bytes], cwd: Path
) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{log_of(cwd)}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("server did not answer /health within 60 s")


def test_serve_runs_on_the_embedded_default_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = spice(["serve", "--port", str(port)], tmp_path, clean_env())
    try:
        response = wait_for_health(port, process, tmp_path)
        assert response.status_code == 200
        assert response.json()["dependencies"]["event_store"]["status"] == "ok"
        assert (tmp_path / "var" / "spice.db").exists()
        # The bootstrap admin token (SPEC §7.1): created on the first start, 0600.
        token_file = tmp_path / "var" / "admin.token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        url, query = (
            f"http://127.0.0.1:{port}/graphql",
            {"query": "{ me { principal } }"},
        )
        assert httpx.post(url, json=query, timeout=10).status_code == 401
        bearer = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        answer = httpx.post(url, json=query, headers=bearer, timeout=10)
        assert answer.json() == {"data": {"me": {"principal": "admin"}}}
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    # uvicorn re-raises the signal after its graceful shutdown, as a process should.
    assert code in (0, -signal.SIGTERM)
    log = log_of(tmp_path)
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("name", ["graph", "scheduler"])
def test_worker_runs_alone_and_stops_on_sigterm(tmp_path: Path, name: str) -> None:
    # The scheduler ticks every 0.2 s here: a tick that fails would be logged.
    env = clean_env(SPICE_SCHEDULER_POLL_INTERVAL="0.2")
    process = spice(["worker", name], tmp_path, env)
    time.sleep(3)
    assert process.poll() is None, log_of(tmp_path)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert "Traceback" not in log_of(tmp_path)


def test_invalid_configuration_names_the_setting(tmp_path: Path) -> None:
    env = clean_env(SPICE_BUS_URL="carrier-pigeon://coop")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert b"SPICE_BUS_URL" in result.stderr
