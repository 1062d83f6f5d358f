"""The public rate limit's counters, shared by every API process on one database.

Revision ID: rate_limit_hits
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rate_limit_hits"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED on PostgreSQL: no WAL per counted request; a crash only resets the limit.
    prefixes = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_limit_hits",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_index", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_index", name=op.f("pk_rate_limit_hits")),
        prefixes=prefixes,
    )


def downgrade() -> None:
    op.drop_table("rate_limit_hits")
