"""The servers of the comparison as subprocesses on free loopback ports:
PostGraphile v4 (node, from the committed lock) and `spice serve`; and the fresh
PostgreSQL databases they use, dropped again on exit."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from adapters.graph_store.terminus.config import TerminusConfig
from adapters.graph_store.terminus.names import owned_by

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODULES = HERE / "node_modules"
STAMP = MODULES / ".lock-sha256"
START_SECONDS = 120
STOP_SECONDS = 30
DB = "bench"  # the SPICE database (a name inside SPICE, not a PostgreSQL one)


@dataclass(frozen=True, slots=True)
class Server:
    label: str
    system: str  # SPICE's system endpoint (defineClass); PostGraphile's only one
    url: str  # the endpoint the measured queries go to
    log: Path
    # Sent with every request: SPICE's bearer token (PostGraphile needs none).
    headers: dict[str, str] = field(default_factory=dict)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def install_peer() -> Path:
    """`npm ci` when node_modules is missing or older than package-lock.json;
    the PostGraphile executable."""
    digest = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != digest:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("bench.peer needs Node.js 20 and npm on PATH")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
        STAMP.write_text(digest)
    return MODULES / ".bin" / "postgraphile"


def admin_url() -> str:
    url = os.environ.get("SPICE_TEST_POSTGRES_URL")
    if not url:
        raise SystemExit(
            "bench.peer needs PostgreSQL: scripts/services.sh up postgres && "
            'eval "$(scripts/services.sh env)"'
        )
    return url


async def _admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url())
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def database(purpose: str) -> Iterator[str]:
    """A fresh database on the services' server; its URL. Dropped on exit."""
    name = f"spice_bench_peer_{purpose}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url().rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def terminus_graph() -> Iterator[str]:
    """A TerminusDB graph URL on the services' server (SPICE_TEST_TERMINUSDB_URL)
    with a fresh database prefix; its databases are deleted on exit."""
    from adapters.registry import terminus_config

    base = os.environ.get("SPICE_TEST_TERMINUSDB_URL")
    if not base:
        raise SystemExit("--terminusdb needs SPICE_TEST_TERMINUSDB_URL (scripts/services.sh up terminusdb)")  # fmt: skip
    url = f"{base}{'&' if '?' in base else '?'}prefix=bench{uuid.uuid4().hex[:8]}"
    try:
        yield url
    finally:
        _drop_terminus(terminus_config(url))


def _drop_terminus(config: TerminusConfig) -> None:
    from terminusdb import Client

    client = Client(config.server_url)
    client.connect(team=config.team, user=config.user, key=config.key)
    for name in client.list_databases():
        if owned_by(config.prefix, name):
            client.delete_database(name, team=config.team)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(
    label: str,
    argv: list[str],
    *,
    env: dict[str, str],
    log: Path,
    urls: tuple[str, str],
    headers: dict[str, str] | None = None,
) -> Iterator[Server]:
    """The process, once `{ __typename }` answers at `url`; stopped on exit."""
    with log.open("wb") as sink:
        # A session of its own: Ctrl-C reaches the benchmark alone, which then
        # stops the servers in order (a server gone mid-request is no error).
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(process, urls[0], log, headers or {})
        yield Server(label, urls[0], urls[1], log, headers or {})
    finally:
        _stop(process)


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, log: Path, headers: dict[str, str]
) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            query = {"query": "{ __typename }"}
            answer = httpx.post(url, json=query, headers=headers, timeout=5)
            if answer.status_code == 200:
                return
            if answer.status_code == 401:
                raise SystemExit(f"{url} refused the bench's token: {answer.text}")
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    raise SystemExit(f"{url} did not start:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def postgraphile(executable: Path, db_url: str, logs: Path) -> Iterator[Server]:
    """PostGraphile v4 over `public`, with the options its documentation
    recommends for production (no query log, no GraphiQL, RBAC-aware schema)."""
    port = free_port()
    argv = [str(executable), "--connection", db_url, "--schema", "public",
            "--host", "127.0.0.1", "--port", str(port), "--disable-graphiql",
            "--disable-query-log", "--no-ignore-rbac", "--dynamic-json",
            "--no-setof-functions-contain-nulls", "--legacy-relations", "omit"]  # fmt: skip
    env = {**os.environ, "NODE_ENV": "production"}
    url = f"http://127.0.0.1:{port}/graphql"
    with running("PostGraphile", argv, env=env, log=logs / "postgraphile.log", urls=(url, url)) as server:  # fmt: skip
        yield server


@contextmanager
def spice(
    label: str, database_url: str, directory: Path, *, graph_url: str = "sql://"
) -> Iterator[Server]:
    """`spice serve` (API and every worker in one process) as bench.graphql
    starts it, with its search index and blobs in `directory`, the graph store
    of `graph_url`, and a fresh bootstrap admin token (SPICE_ADMIN_TOKEN) in the
    Server's headers."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    token = "bench-admin-" + secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPICE_")}
    env.update(SPICE_DATABASE_URL=database_url, SPICE_BUS_URL="memory://",
               SPICE_SEARCH_URL=f"sqlite:///{directory / 'search.db'}",
               SPICE_BLOB_URL=f"file://{directory / 'blobs'}", SPICE_ENVIRONMENT="prod",
               SPICE_ADMIN_TOKEN=token, SPICE_GRAPH_URL=graph_url,
               PYTHONPATH=str(ROOT))  # fmt: skip
    argv = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/graphql"
    urls = (url, f"{url}/{DB}")
    with running(label, argv, env=env, log=directory / "server.log", urls=urls, headers=bearer(token)) as server:  # fmt: skip
        yield server
