"""`spice ingest` against a running server (uvicorn on a free port)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.settings import Settings
from tests.api.served import served
from tests.conftest import ADMIN_TOKEN
from tests.graphql.client import GraphQL

pytestmark = pytest.mark.asyncio


async def test_spice_ingest_uploads_a_file_as_a_version(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "orders.csv"
    source.write_text("id;amount\n1;10\n2;20\n", encoding="utf-8")
    async with served(settings) as server:
        async with httpx.AsyncClient(
            base_url=server.http, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as http:
            await GraphQL(http, server.container).create_database("data")
        argv = ["ingest", str(source), "--db", "data", "--url", server.http,
                "--token", ADMIN_TOKEN, "--quiet"]  # fmt: skip
        code = await asyncio.to_thread(main, argv)
        out = capsys.readouterr().out
        assert code == 0, out
        result = json.loads(out)
        assert result["dataset"] == "orders"
        assert result["rowCount"] == 2
        again = await asyncio.to_thread(
            main, [*argv[:-1], "--name", "orders"]
        )  # with the bar
        assert again == 0
        assert json.loads(capsys.readouterr().out)["duplicate"] is True
        bad = await asyncio.to_thread(main, [*argv[:-3], "--token", "nope", "--quiet"])
        assert bad == 1
