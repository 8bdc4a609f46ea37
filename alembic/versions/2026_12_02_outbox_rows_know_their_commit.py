"""outbox rows know their commit

Revision ID: 5d2e8a41c7b3
Revises: 3c1f0e2b9d47
Create Date: 2026-12-02 00:10:00

Rows committed by one append transaction share `commit_first` (the transaction's
first position), so the event-payload archive writes one object per commit instead
of one per command. Rows written before this revision were each their own commit.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d2e8a41c7b3"
down_revision: str | None = "3c1f0e2b9d47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("commit_first", POSITION, nullable=True))
    op.execute("UPDATE outbox SET commit_first = first_position")
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("commit_first", existing_type=POSITION, nullable=False)
        batch.create_index("ix_outbox_commit", ["db", "commit_first"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_commit")
        batch.drop_column("commit_first")
