"""Health and readiness report every dependency."""

from __future__ import annotations

import socket

import httpx

from app.main import create_app
from app.settings import Settings
from tests.stacks import database_url_or_stack

# Also on the production stack with TerminusDB as the graph store.
database_url = database_url_or_stack


async def _health_and_ready(
    settings: Settings,
) -> tuple[httpx.Response, httpx.Response]:
    """GET /health and /ready of an app on `settings` (its workers not running)."""
    app = create_app(settings, workers=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://spice"
        ) as client:
            return await client.get("/health"), await client.get("/ready")


async def test_health_reports_each_store_and_ready_answers(settings: Settings) -> None:
    health, ready = await _health_and_ready(settings)
    body = health.json()
    assert health.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["dependencies"]) == {
        "event_store",
        "graph_store",
        "search_index",
        "message_bus",
    }
    assert ready.json() == {"ready": True}


async def test_health_reports_an_unreachable_graph_server_as_down(
    settings: Settings,
) -> None:
    """A graph store on its own server is checked itself, not through the
    events' database: TerminusDB on a port nobody listens on is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = settings.model_copy(
        update={"graph_url": f"terminusdb://admin:secret@127.0.0.1:{port}?timeout=2"}
    )
    health, ready = await _health_and_ready(unreachable)
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded"
    assert body["dependencies"]["graph_store"]["status"] == "down"
    assert body["dependencies"]["event_store"] == {"status": "ok"}
    # Readiness is the event store's: writes are still accepted.
    assert ready.json() == {"ready": True}
