"""R4 Acked means durable: clients write at full rate through the HTTP API of a real
`spice serve` process, which is SIGKILLed mid-stream, twice, and restarted. Every
command the server acknowledged is stored; nothing else is stored partially (each
command has all of its events or none, one outbox row iff it has events, one command
row); positions stay gapless; after the restart, a client retrying a command whose
answer it never got (same command id, same payload) gets one receipt and no second
copy."""

from __future__ import annotations

import asyncio
import random
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.bootstrap import open_container
from app.settings import Settings
from tests.conftest import ADMIN_HEADERS, make_settings
from tests.production.support import free_port, positions, stored_commands, tail
from tests.reliability.support import spice_env, start_python

pytestmark = pytest.mark.timeout(90)

DB = "shop"
WRITERS = 8
RECEIPT = (
    "__typename ... on CommandReceipt { commandId position duplicate status }"
    " ... on ValidationError { message } ... on ConflictError { message }"
)
CREATE = f"mutation($x: [ItemInput!]!, $id: ID) {{ createItems(inputs: $x, commandId: $id) {{ {RECEIPT} }} }}"
ITEM_CLASS = {
    "id": "Item",
    "label": "Item",
    "primaryKey": "sku",
    "properties": [
        {"name": "sku", "type": "string", "required": True},
        {"name": "n", "type": "integer"},
    ],
}


@dataclass(slots=True)
class History:
    """What the clients saw: sent (id -> item count), acknowledged (id -> receipt),
    unanswered (the connection died first) and anything else (must stay empty)."""

    sent: dict[str, int] = field(default_factory=dict)
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    retried: dict[str, bool] = field(default_factory=dict)  # id -> duplicate?


class Server:
    """One `spice serve` process on the test's stores."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = spice_env(self.settings)
        self.process = await start_python(
            ["-m", "app.cli", "serve", "--port", str(self.port)],
            env=env,
            cwd=self.tmp_path,
            log=self.tmp_path / "serve.log",
            pipe_stdout=False,
        )
        deadline = asyncio.get_running_loop().time() + 30
        async with httpx.AsyncClient(
            base_url=self.url, timeout=2, headers=ADMIN_HEADERS
        ) as http:
            while True:
                assert self.process.returncode is None, tail(
                    self.tmp_path / "serve.log"
                )
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, (
                    "server did not start"
                )
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()


async def gql(
    http: httpx.AsyncClient, query: str, path: str = "/graphql", **variables: Any
) -> dict[str, Any]:
    response = await http.post(path, json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body.get("errors") is None, body
    data: dict[str, Any] = body["data"]
    return data


async def define_shop(http: httpx.AsyncClient) -> None:
    created = await gql(
        http,
        f'mutation {{ createDatabase(name: "{DB}", wait: APPLIED) {{ {RECEIPT} }} }}',
    )
    assert created["createDatabase"]["__typename"] == "CommandReceipt", created
    defined = await gql(
        http,
        f'mutation($i: ClassInput!) {{ defineClass(db: "{DB}", input: $i, wait: APPLIED) {{ {RECEIPT} }} }}',
        i=ITEM_CLASS,
    )
    assert defined["defineClass"]["__typename"] == "CommandReceipt", defined


def items(command_id: str, size: int) -> list[dict[str, Any]]:
    return [{"sku": f"{command_id}-{k}", "n": k} for k in range(size)]


async def create(http: httpx.AsyncClient, command_id: str, size: int) -> dict[str, Any]:
    data = await gql(
        http, CREATE, f"/graphql/{DB}", x=items(command_id, size), id=command_id
    )
    result: dict[str, Any] = data["createItems"]
    return result


async def writer(
    server: Server,
    name: str,
    rng: random.Random,
    history: History,
    first_ack: asyncio.Event,
) -> None:
    """Sends commands back to back until the server dies under it."""
    async with httpx.AsyncClient(
        base_url=server.url, timeout=30, headers=ADMIN_HEADERS
    ) as http:
        for k in range(100_000):
            command_id = f"{name}-{k}"
            size = rng.choice((1, 3, 20, 120))
            history.sent[command_id] = size
            body = {
                "query": CREATE,
                "variables": {"x": items(command_id, size), "id": command_id},
            }
            try:
                response = await http.post(f"/graphql/{DB}", json=body)
            except httpx.TransportError:
                history.unanswered.add(command_id)
                return
            answer = response.json() if response.status_code == 200 else {}
            result = (answer.get("data") or {}).get("createItems") or {}
            if result.get("__typename") != "CommandReceipt":
                history.unexpected.append(
                    f"{command_id}: {response.status_code} {response.text[:300]}"
                )
                return
            history.acked[command_id] = result
            first_ack.set()


async def burst_then_kill(
    server: Server, round_: int, rng: random.Random, history: History
) -> None:
    first_ack = asyncio.Event()
    writers = [
        asyncio.create_task(writer(server, f"r{round_}w{w}", rng, history, first_ack))
        for w in range(WRITERS)
    ]
    try:
        await asyncio.wait_for(first_ack.wait(), timeout=30)
        await asyncio.sleep(rng.uniform(0.5, 1.5))
    finally:
        await server.kill()
        await asyncio.wait_for(asyncio.gather(*writers), timeout=30)


async def check_store(
    settings: Settings, history: History
) -> dict[str, tuple[int, int, int]]:
    """Acknowledged ones stored; stored ones were sent and are whole; gapless."""
    async with open_container(
        settings.model_copy(update={"auto_migrate": False})
    ) as container:
        stored = {
            k: v
            for k, v in (await stored_commands(container)).items()
            if k in history.sent
        }
        for command_id, receipt in history.acked.items():
            found = await container.event_store.find_command(command_id)
            assert found is not None, f"acknowledged {command_id} is missing"
            result = found.result
            assert result.first_position <= receipt["position"] <= result.last_position
        broken = {k: v for k, v in stored.items() if v != (history.sent[k], 1, 1)}
        assert not broken, f"partially stored commands: {list(broken.items())[:5]}"
        assert set(history.acked) <= set(stored)
        found_positions = await positions(container)
        assert found_positions == list(range(1, len(found_positions) + 1))
        return stored


async def test_every_acknowledged_command_survives_sigkill_of_the_server(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    rng = random.Random(4)
    history = History()
    server = Server(settings, tmp_path)
    try:
        await server.start()
        async with httpx.AsyncClient(
            base_url=server.url, timeout=30, headers=ADMIN_HEADERS
        ) as http:
            await define_shop(http)
        await burst_then_kill(server, 0, rng, history)
        assert history.unanswered, (
            "no command was in flight at the kill: the test proved nothing"
        )
        first_unanswered = set(history.unanswered)
        stored = await check_store(settings, history)

        # The clients retry what they never got an answer for, then write on.
        await server.start()
        async with httpx.AsyncClient(
            base_url=server.url, timeout=30, headers=ADMIN_HEADERS
        ) as http:
            for command_id in sorted(first_unanswered):
                result = await create(http, command_id, history.sent[command_id])
                assert result["__typename"] == "CommandReceipt", result
                history.retried[command_id] = result["duplicate"]
                assert result["duplicate"] == (command_id in stored), (
                    command_id,
                    result,
                )
                history.acked[command_id] = result
        history.unanswered -= first_unanswered
        await burst_then_kill(server, 1, rng, history)
        assert history.unanswered, "no command was in flight at the second kill"
        await check_store(settings, history)
    finally:
        await server.stop()

    assert history.unexpected == [], history.unexpected[:5]
    assert len(history.acked) > 2 * WRITERS, (
        f"only {len(history.acked)} commands acknowledged"
    )
    assert "Traceback" not in tail(tmp_path / "serve.log", 1_000_000), tail(
        tmp_path / "serve.log"
    )
