"""`spice schema export` writes the generated SDL; `spice schema diff` finds breaking changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app import cli
from app.settings import Settings
from tests.graphql.client import GraphQL

REVIEW = {
    "id": "Review",
    "label": "Review",
    "primaryKey": "review_id",
    "properties": [{"name": "review_id", "type": "string"}],
}


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads its settings from SPICE_* like in production."""
    for key in ("environment", "database_url", "search_url", "blob_url"):
        monkeypatch.setenv(f"SPICE_{key.upper()}", str(getattr(settings, key)))


async def _spice(*argv: str) -> int:
    # The CLI runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(cli.main, list(argv))


@pytest.mark.usefixtures("cli_env")
async def test_export_writes_the_generated_sdl(shop: GraphQL, tmp_path: Path) -> None:
    out = tmp_path / "shop.graphql"
    assert await _spice("schema", "export", "--db", "shop", "--out", str(out)) == 0
    sdl = out.read_text()
    assert "type Product {" in sdl
    assert (
        "productsAggregate(where: ProductWhere, asOf: Int, asOfTime: DateTime): ProductAggregate!"
        in sdl
    )
    assert "union SearchResult = Customer | Product" in sdl


@pytest.mark.usefixtures("cli_env")
async def test_export_of_an_unknown_database_fails(
    gql: GraphQL, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _spice("schema", "export", "--db", "nope") == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
async def test_diff_reports_breaking_and_dangerous_changes(
    shop: GraphQL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, broken = (
        tmp_path / n for n in ("old.graphql", "new.graphql", "b.graphql")
    )
    await _spice("schema", "export", "--db", "shop", "--out", str(old))
    await shop.define("shop", REVIEW)
    await _spice("schema", "export", "--db", "shop", "--out", str(new))
    capsys.readouterr()

    assert await _spice("schema", "diff", str(old), str(new)) == 0
    assert "DANGEROUS TYPE_ADDED_TO_UNION" in capsys.readouterr().out

    broken.write_text(
        old.read_text().replace("type Product {\n  id: ID!\n", "type Product {\n", 1)
    )
    assert await _spice("schema", "diff", str(old), str(broken)) == 1
    assert (
        "BREAKING FIELD_REMOVED: Field Product.id was removed."
        in capsys.readouterr().out
    )


async def test_diff_of_invalid_sdl_fails(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.graphql", tmp_path / "bad.graphql"
    good.write_text("type Query { a: Int }")
    bad.write_text("type Query {")
    assert await _spice("schema", "diff", str(good), str(good)) == 0
    assert await _spice("schema", "diff", str(good), str(bad)) == 2
