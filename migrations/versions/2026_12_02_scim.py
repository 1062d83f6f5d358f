"""SCIM provisioning: per-force bearer credentials, and the SCIM resource kept per person.

Revision ID: scim
Revises: audit_tree
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "scim"
down_revision = "campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scim_credentials",
        sa.Column("force_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["forces.id"], name=op.f("fk_scim_credentials_force_id_forces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_credentials")),
        sa.UniqueConstraint("force_id", "name", name=op.f("uq_scim_credentials_force_id_name")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_scim_credentials_secret_sha256")),
    )
    op.create_index(
        op.f("ix_scim_credentials_force_id"), "scim_credentials", ["force_id"], unique=False
    )
    op.create_table(
        "scim_users",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("resource", JSON_DOC, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_scim_users_person_id_people")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_scim_users")),
    )


def downgrade() -> None:
    op.drop_table("scim_users")
    op.drop_index(op.f("ix_scim_credentials_force_id"), table_name="scim_credentials")
    op.drop_table("scim_credentials")
