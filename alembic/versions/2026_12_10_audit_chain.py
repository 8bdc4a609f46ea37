"""audit chain

Revision ID: c4a9d2e6f1b8
Revises: b7e1f0a2c3d4
Create Date: 2026-12-10 00:10:00

The tamper-evident audit trail: one hash chain per database (each entry carries
the previous entry's hash). Unlike the views it is not rebuilt from events, so a
downgrade loses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a9d2e6f1b8"
down_revision: str | None = "b7e1f0a2c3d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("db", sa.String(length=64), nullable=False),
        sa.Column("seq", POSITION, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("db", "seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("db", "kind", "ref", name=op.f("uq_audit_chain_db")),
    )


def downgrade() -> None:
    op.drop_table("audit_chain")
