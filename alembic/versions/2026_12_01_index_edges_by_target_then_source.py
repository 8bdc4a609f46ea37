"""index edges by target then source

Revision ID: 3c1f0e2b9d47
Revises: 7a9a5767f651
Create Date: 2026-12-01 22:10:00

A page of a reverse link (a target's first sources by id) reads the index in
order instead of every edge of the target.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "3c1f0e2b9d47"
down_revision: str | None = "7a9a5767f651"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("graph_edges") as batch:
        batch.drop_index("ix_graph_edges_dst")
        batch.create_index(
            "ix_graph_edges_dst_src", ["db", "predicate", "dst_id", "src_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("graph_edges") as batch:
        batch.drop_index("ix_graph_edges_dst_src")
        batch.create_index("ix_graph_edges_dst", ["db", "predicate", "dst_id"])
