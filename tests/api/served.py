"""The app under a real uvicorn server on a free port, for clients that need a
socket (WebSocket, SSE streaming, gql's transports)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from app.bootstrap import Container
from app.main import create_app
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class Served:
    host: str  # host:port
    app: FastAPI

    @property
    def http(self) -> str:
        return f"http://{self.host}"

    def ws(self, path: str) -> str:
        return f"ws://{self.host}{path}"

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[Served]:
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
