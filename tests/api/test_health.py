"""Health and readiness report every dependency."""

from __future__ import annotations

import httpx

from app.main import create_app
from app.settings import Settings


async def test_health_reports_each_store_and_ready_answers(settings: Settings) -> None:
    app = create_app(settings, workers=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://spice"
        ) as client:
            health = await client.get("/health")
            ready = await client.get("/ready")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert set(body["dependencies"]) == {
        "event_store",
        "graph_store",
        "search_index",
        "message_bus",
    }
    assert ready.json() == {"ready": True}
