"""hold unique claims

Revision ID: e8c4a7f2b9d1
Revises: d5f3b8a1e7c2
Create Date: 2026-12-12 00:00:00

Unique property values and exclusive relationship targets held per branch
(domain.claims), written in the append transaction. Rows are history: a key's
state on a branch is its visible row with the highest seq.

The claims of the data already stored are built here from the events, with
the write path's own rules (adapters/event_store/claims_rebuild.py). Where two
instances already share a unique value (stored before it was enforced), the
earlier one holds it and each later one is logged, not changed: writes that
keep such a value are accepted, writes that change it are checked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.event_store.claims_rebuild import rebuild_claims

revision: str = "e8c4a7f2b9d1"
down_revision: str | None = "d5f3b8a1e7c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "unique_claims",
        sa.Column("db", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(250), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("branch", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("holder", sa.String(400)),
        sa.PrimaryKeyConstraint(
            "db", "scope", "key", "branch", "seq", name="pk_unique_claims"
        ),
    )
    report = rebuild_claims(op.get_bind())
    log = logging.getLogger("alembic.runtime.migration")
    log.info("unique claims built from the events: %d rows", report.rows)
    for taken in report.duplicates:
        log.warning(
            "already shared before uniqueness was enforced: %s %s held by %s, also by %s",
            taken.scope,
            taken.key,
            taken.owner,
            taken.claimant,
        )


def downgrade() -> None:
    op.drop_table("unique_claims")
