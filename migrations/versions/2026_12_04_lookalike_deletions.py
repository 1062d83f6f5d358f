"""Look-alike look-ups by deletion neighbourhood (PostgreSQL): `lookalike_deletions(key)`
is the key with each one of its characters deleted, and the key itself, for keys of 5 to
9 characters (those the rules allow one edit between); a GIN index over it, on the public
accounts, finds every key within one edit of a handle's by exact array overlap instead of
rechecking hundreds of trigram matches. SQLite keeps its length-window scan.

Revision ID: lookalike_deletions
Revises: scim
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "lookalike_deletions"
down_revision = "scim"
branch_labels = None
depends_on = None

# app.lookalikes.skeleton.deletions() is the same function in Python (a test holds them
# to the same answers).
_FUNCTION = """
CREATE FUNCTION lookalike_deletions(k text) RETURNS text[]
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql AS $$
  SELECT CASE WHEN length(k) BETWEEN 5 AND 9 THEN
    k || ARRAY(SELECT left(k, i - 1) || substr(k, i + 1) FROM generate_series(1, length(k)) AS i)
  ELSE '{}'::text[] END
$$
"""
_PUBLIC = "status = 'active' AND classification IN ('corporate', 'official')"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(
        "CREATE INDEX ix_accounts_lookalike_deletions ON accounts "
        f"USING gin (lookalike_deletions(lookalike_key)) WHERE {_PUBLIC}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_accounts_lookalike_deletions")
    op.execute("DROP FUNCTION IF EXISTS lookalike_deletions(text)")
