"""Summary totals kept per force (PostgreSQL): `report_totals` holds each force's summary
group rows as last recounted, good until time alone could change a flag; `report_stale`
names the forces whose totals a change has made out of date (NULL: every force). A
trigger on audit_events fills report_stale in the transaction of the change, so no code
path that records its change can leave the totals behind. SQLite gets the tables (the
models are the same) but no trigger: its summary always recounts.

Revision ID: report_totals
Revises: lookalike_deletions
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "report_totals"
down_revision = "lookalike_deletions"
branch_labels = None
depends_on = None

# One row per (statement, distinct force): an event with no force, and an account event
# changing the handle, platform, status or classification of an account that is or was
# public (active, corporate or official), mark every force: a public account's identity
# feeds `imitates_official` in every force. Events that change nothing a flag reads
# (webhooks, SCIM credentials, campaigns, refused duplicates) mark nothing.
_FUNCTION = """
CREATE FUNCTION audit_events_mark_report_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_stale (force_id)
  SELECT DISTINCT CASE
    WHEN e.force_id IS NULL THEN NULL
    WHEN e.entity_type = 'account'
      AND e.changes ?| ARRAY['handle', 'platform', 'status', 'classification']
      AND (
        a.id IS NULL
        OR (a.status = 'active' AND a.classification IN ('corporate', 'official'))
        OR (coalesce(e.changes -> 'status' ->> 0, a.status) = 'active'
            AND coalesce(e.changes -> 'classification' ->> 0, a.classification)
                IN ('corporate', 'official'))
      ) THEN NULL
    ELSE e.force_id
  END
  FROM new_events AS e
  LEFT JOIN accounts AS a
    ON e.entity_type = 'account'
    AND a.id = CASE WHEN e.entity_id ~ '^[0-9a-fA-F-]{32,36}$' THEN e.entity_id::uuid END
  WHERE e.entity_type NOT IN ('webhook', 'scim_credential', 'campaign')
    AND e.action <> 'account.duplicate_refused';
  RETURN NULL;
END
$$
"""
_TRIGGER = """
CREATE TRIGGER audit_events_report_stale AFTER INSERT ON audit_events
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_mark_report_stale()
"""


def upgrade() -> None:
    op.create_table(
        "report_stale",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("force_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_stale")),
    )
    # Readers look up the marks of their forces (and the NULL "every force" ones).
    op.create_index("ix_report_stale_force_id", "report_stale", ["force_id"])
    op.create_table(
        "report_totals",
        sa.Column("force_id", sa.Uuid(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["forces.id"], name=op.f("fk_report_totals_force_id_forces")
        ),
        sa.PrimaryKeyConstraint("force_id", name=op.f("pk_report_totals")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_report_stale ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_mark_report_stale()")
    op.drop_table("report_totals")
    op.drop_index("ix_report_stale_force_id", table_name="report_stale")
    op.drop_table("report_stale")
