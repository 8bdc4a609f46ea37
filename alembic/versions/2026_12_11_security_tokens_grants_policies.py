"""security tokens, grants and access policies

Revision ID: d5f3b8a1e7c2
Revises: c4a9d2e6f1b8
Create Date: 2026-12-11 00:00:00

API tokens (stored as hashes), role grants per principal and database, and
access policies (row filters and column masks per class and role).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5f3b8a1e7c2"
down_revision: str | None = "c4a9d2e6f1b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "security_tokens",
        sa.Column("token_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40)),
        sa.Column("revoked_at", sa.String(40)),
        sa.PrimaryKeyConstraint("token_id", name="pk_security_tokens"),
    )
    op.create_table(
        "security_grants",
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("db", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("principal", "db", name="pk_security_grants"),
    )
    op.create_table(
        "access_policies",
        sa.Column("db", sa.String(64), nullable=False),
        sa.Column("class_id", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("row_filter", sa.JSON()),
        sa.Column("mask_fields", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("db", "class_id", "role", name="pk_access_policies"),
    )


def downgrade() -> None:
    op.drop_table("access_policies")
    op.drop_table("security_grants")
    op.drop_table("security_tokens")
