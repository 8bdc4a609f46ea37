"""commands by recorded time

Revision ID: 8e4b1c7d2f90
Revises: 5d2e8a41c7b3
Create Date: 2026-12-08 00:10:00

`asOfTime` reads map an instant to the last position committed by then: one
step down this index (newest first from the instant) instead of a scan of the
database's commands.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "8e4b1c7d2f90"
down_revision: str | None = "5d2e8a41c7b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_commands_db_recorded", "commands", ["db", "recorded_at", "last_position"]
    )


def downgrade() -> None:
    op.drop_index("ix_commands_db_recorded", table_name="commands")
