"""Review campaigns with their snapshot of accounts, and the email digests sent.

Revision ID: campaigns
Revises: audit_tree
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "campaigns"
down_revision = "outbox"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("force_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("message", sa.String(length=4000), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("scope", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("closed_at", TIME, nullable=True),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("result", JSON_DOC, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_campaigns_status_valid")),
        sa.ForeignKeyConstraint(
            ["force_id"], ["forces.id"], name=op.f("fk_campaigns_force_id_forces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(
        "ix_campaigns_force_id_created_at_id", "campaigns", ["force_id", "created_at", "id"]
    )
    op.create_index("ix_campaigns_status", "campaigns", ["status"])
    op.create_table(
        "campaign_items",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("force_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notified_at", TIME, nullable=True),
        sa.Column("reminded_7_at", TIME, nullable=True),
        sa.Column("reminded_1_at", TIME, nullable=True),
        sa.Column("escalated_at", TIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'overdue', 'orphaned')",
            name=op.f("ck_campaign_items_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
            name=op.f("fk_campaign_items_campaign_id_campaigns"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_campaign_items_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["force_id"], ["forces.id"], name=op.f("fk_campaign_items_force_id_forces")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_campaign_items_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["people.id"], name=op.f("fk_campaign_items_owner_id_people")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "account_id", name=op.f("pk_campaign_items")),
    )
    op.create_index(
        "ix_campaign_items_campaign_id_status", "campaign_items", ["campaign_id", "status"]
    )
    op.create_index("ix_campaign_items_account_id", "campaign_items", ["account_id"])
    op.create_table(
        "sent_digests",
        sa.Column("force_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent_at", TIME, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("kind IN ('person', 'comms')", name=op.f("ck_sent_digests_kind_valid")),
        sa.ForeignKeyConstraint(
            ["force_id"], ["forces.id"], name=op.f("fk_sent_digests_force_id_forces")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_sent_digests_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_digests")),
        sa.UniqueConstraint("person_id", "kind", "day", name=op.f("uq_sent_digests_person_id_kind_day")),
    )


def downgrade() -> None:
    op.drop_table("sent_digests")
    op.drop_index("ix_campaign_items_account_id", table_name="campaign_items")
    op.drop_index("ix_campaign_items_campaign_id_status", table_name="campaign_items")
    op.drop_table("campaign_items")
    op.drop_index("ix_campaigns_status", table_name="campaigns")
    op.drop_index("ix_campaigns_force_id_created_at_id", table_name="campaigns")
    op.drop_table("campaigns")
