"""Running the alembic migrations programmatically (spice migrate, serve, tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from adapters.sql_engine import SqlDatabase

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


async def upgrade(database: SqlDatabase, revision: str = "head") -> None:
    """Upgrades the database inside one of our own connections."""
    config = alembic_config(database.url)

    def run(sync_connection: Any) -> None:
        config.attributes["connection"] = sync_connection
        command.upgrade(config, revision)

    async with database.write() as conn:
        await conn.run_sync(run)
