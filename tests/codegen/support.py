"""Helpers for the codegen tests: the tools, a live `spice serve`, and the CLI."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_serve_and_worker import clean_env, free_port, spice, wait_for_health
from tests.conftest import ADMIN_HEADERS, ADMIN_TOKEN, IN_CI
from tests.graphql.client import CUSTOMER, PRODUCT, RESULT

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "codegen"
OPERATIONS = Path(__file__).parent / "operations"
ARIADNE_CODEGEN = TOOLS / ".venv" / "bin" / "ariadne-codegen"
GRAPHQL_CODEGEN = TOOLS / "node_modules" / ".bin" / "graphql-codegen"
TSC = TOOLS / "node_modules" / ".bin" / "tsc"
DB = "shop"


def require_tool(path: Path) -> Path:
    """A codegen tool (with Node.js for the npm ones); in CI a missing one is a
    failure, locally a skip."""
    needs_node = "node_modules" in path.parts
    if path.is_file() and (not needs_node or shutil.which("node")):
        return path
    message = f"{path.relative_to(ROOT)} (or node) is missing; run: make codegen-tools"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def node(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs a Node.js tool from tools/codegen/node_modules/.bin."""
    return subprocess.run(
        [shutil.which("node") or "node", str(require_tool(script)), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@dataclass(frozen=True, slots=True)
class Server:
    """A running `spice serve`, and the environment that points a CLI at its data."""

    url: str
    env: dict[str, str]

    @property
    def shop(self) -> str:
        return f"{self.url}/graphql/{DB}"

    def codegen(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """`spice codegen ARGS` as a separate process on the server's database."""
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "codegen", *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@contextmanager
def shop_server(home: Path) -> Iterator[Server]:
    """`spice serve` on SQLite files in `home`, with database `shop` holding
    Customer and Product (owned_by -> Customer, n:1, inverse owns)."""
    env = clean_env(
        SPICE_ENVIRONMENT="test",
        SPICE_DATABASE_URL=f"sqlite+aiosqlite:///{home / 'spice.db'}",
        SPICE_SEARCH_URL=f"sqlite:///{home / 'search.db'}",
        SPICE_BLOB_URL=f"file://{home / 'blobs'}",
        SPICE_ADMIN_TOKEN=ADMIN_TOKEN,
    )
    port = free_port()
    process = spice(["serve", "--port", str(port)], home, env)
    try:
        wait_for_health(port, process, home)
        server = Server(f"http://127.0.0.1:{port}", env)
        _define_shop(server.url)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _system(url: str, query: str, **variables: object) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers=ADMIN_HEADERS,
        timeout=60,
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body.get("errors") is None, body
    data: dict[str, Any] = body["data"]
    return data


def _define_shop(url: str) -> None:
    created = _system(
        url,
        f'mutation {{ createDatabase(name: "{DB}", wait: APPLIED) {{ {RESULT} }} }}',
    )
    assert created["createDatabase"]["__typename"] == "CommandReceipt", created
    for definition in (CUSTOMER, PRODUCT):
        defined = _system(
            url,
            f'mutation($i: ClassInput!) {{ defineClass(db: "{DB}", input: $i, wait: APPLIED) {{ {RESULT} }} }}',
            i=definition,
        )
        assert defined["defineClass"]["__typename"] == "CommandReceipt", defined
