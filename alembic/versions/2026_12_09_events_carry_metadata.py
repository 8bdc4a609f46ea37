"""events carry metadata

Revision ID: b7e1f0a2c3d4
Revises: 8e4b1c7d2f90
Create Date: 2026-12-09 00:10:00

Each event stores the operational context of its command (request id, W3C
trace context) so that audit and projections can tie it back to the request.
Nullable: events appended before this revision have none, and adding a
nullable column rewrites no rows on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e1f0a2c3d4"
down_revision: str | None = "8e4b1c7d2f90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("metadata", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("metadata")
