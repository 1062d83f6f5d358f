"""The activity window index leads with the force: the flags' set queries total the last
90 days of the accounts of given forces (a report's scope, or its share of a report split
between concurrent statements) by an index-only range scan per force.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TOTALS = ["account_id", "original_posts", "reposts", "replies"]


def upgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_period_end_totals")
        batch_op.create_index(
            "ix_activity_force_window_totals", ["force_id", "period_end", *_TOTALS], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_force_window_totals")
        batch_op.create_index(
            "ix_activity_period_end_totals", ["period_end", *_TOTALS], unique=False
        )
