"""Filling both sides with the same rows: PostgreSQL tables by COPY for
PostGraphile; SPICE through its own bulk GraphQL mutations, timed."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.peer.servers import DB, Server
from bench.peer.shape import (
    KINDS,
    Kind,
    columns,
    constraints,
    counts,
    ddl,
    row,
    spice_class,
    spice_input,
)

BATCH = 1_000  # instances per bulk mutation, as bench.graphql sends them
IN_FLIGHT = 4  # bulk mutations in flight at once
POLL_SECONDS = 0.1
SETTLE_SECONDS = 3_600
RESULT = (
    "__typename ... on CommandReceipt { commandId position } "
    "... on ValidationError { message errors { path message } }"
)
DONE = {"APPLIED": ("APPLIED", "INDEXED", "COMPLETED"), "COMPLETED": ("COMPLETED",)}


async def copy_tables(url: str, scale: int) -> float:
    """Creates and fills the tables (COPY, then foreign keys, their indexes and
    ANALYZE); the seconds it took."""
    import asyncpg

    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        for kind in KINDS:
            await conn.execute(ddl(kind))
            records = (row(kind, i, scale) for i in range(counts(scale)[kind.name]))
            await conn.copy_records_to_table(
                kind.table, records=records, columns=columns(kind)
            )
        for kind in KINDS:
            for statement in constraints(kind):
                await conn.execute(statement)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class LoadTimes:
    accepted: float  # every bulk mutation answered (written to the event store)
    applied: float  # the graph projection has applied the last of them


async def _post(http: httpx.AsyncClient, url: str, query: str, **variables: Any) -> Any:
    body = (await http.post(url, json={"query": query, "variables": variables})).json()
    if body.get("errors"):
        raise SystemExit(f"{url}: {body['errors']}")
    return body["data"]


async def define_ontology(http: httpx.AsyncClient, server: Server) -> None:
    create = (
        f'mutation {{ createDatabase(name: "{DB}", wait: APPLIED) {{ {RESULT} }} }}'
    )
    _receipt(await _post(http, server.system, create), "createDatabase")
    define = f'mutation($i: ClassInput!) {{ defineClass(db: "{DB}", input: $i, wait: APPLIED) {{ {RESULT} }} }}'  # fmt: skip
    for kind in KINDS:
        data = await _post(http, server.system, define, i=spice_class(kind))
        _receipt(data, "defineClass")


def _receipt(data: dict[str, Any], field: str) -> dict[str, Any]:
    result: dict[str, Any] = data[field]
    if result["__typename"] != "CommandReceipt":
        raise SystemExit(f"{field} failed: {result}")
    return result


async def _create_all(
    http: httpx.AsyncClient, server: Server, kind: Kind, scale: int
) -> dict[str, Any]:
    """Every instance of `kind` in bulk mutations, IN_FLIGHT at a time; the
    receipt with the highest position."""
    field = f"create{kind.name}s"
    query = f"mutation($i: [{kind.name}Input!]!) {{ {field}(inputs: $i) {{ {RESULT} }} }}"  # fmt: skip
    starts = iter(range(0, counts(scale)[kind.name], BATCH))
    receipts: list[dict[str, Any]] = []

    async def sender() -> None:
        for start in starts:
            end = min(start + BATCH, counts(scale)[kind.name])
            items = [spice_input(kind, i, scale) for i in range(start, end)]
            receipts.append(_receipt(await _post(http, server.url, query, i=items), field))  # fmt: skip

    await asyncio.gather(*(sender() for _ in range(IN_FLIGHT)))
    return max(receipts, key=lambda r: int(r["position"]))


async def settled(http: httpx.AsyncClient, server: Server, command: str, state: str) -> None:  # fmt: skip
    """Polls the command's status until it reached `state` (APPLIED: the graph
    projection has applied it and, positions being ordered, all before it)."""
    query = "query($c: ID!) { command(id: $c) { status } }"
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        status = (await _post(http, server.system, query, c=command))["command"]
        if status and status["status"] in DONE[state]:
            return
        if status and status["status"] in ("REJECTED", "FAILED"):
            raise SystemExit(f"load command {command} is {status['status']}")
        await asyncio.sleep(POLL_SECONDS)
    raise SystemExit(f"{server.label}: load not {state} in {SETTLE_SECONDS} s")


async def load_spice(server: Server, scale: int) -> LoadTimes:
    """Defines the ontology, then creates every instance class by class (links
    point to the class before); waits until the server is idle again (search
    indexed too) so that reads are measured on a quiet server."""
    async with httpx.AsyncClient(
        timeout=SETTLE_SECONDS, headers=server.headers
    ) as http:
        await define_ontology(http, server)
        started = time.perf_counter()
        for kind in KINDS:
            last = await _create_all(http, server, kind, scale)
        accepted = time.perf_counter() - started
        await settled(http, server, last["commandId"], "APPLIED")
        applied = time.perf_counter() - started
        await settled(http, server, last["commandId"], "COMPLETED")
    return LoadTimes(accepted, applied)
