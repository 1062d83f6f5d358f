"""Look-alike keys on accounts: each handle's confusable skeleton key and stem (see
app.lookalikes.skeleton), filled for the accounts already registered, indexed for
equality on both databases and by trigrams (pg_trgm) over the public accounts on
PostgreSQL (a partial b-tree over them on SQLite).

Revision ID: 0003
Revises: rate_limit_hits
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "rate_limit_hits"
branch_labels = None
depends_on = None

_PUBLIC = "status = 'active' AND classification IN ('corporate', 'official')"
_BATCH = 5_000


def _backfill() -> None:
    from app.lookalikes import skeleton  # the same rules the application writes with

    conn = op.get_bind()
    accounts = sa.table(
        "accounts",
        sa.column("id"),
        sa.column("handle", sa.String()),
        sa.column("lookalike_key", sa.String()),
        sa.column("lookalike_stem", sa.String()),
    )
    update = (
        accounts.update()
        .where(accounts.c.id == sa.bindparam("account_id"))
        .values(lookalike_key=sa.bindparam("k"), lookalike_stem=sa.bindparam("s"))
    )
    last = None
    while True:
        query = sa.select(accounts.c.id, accounts.c.handle).order_by(accounts.c.id).limit(_BATCH)
        if last is not None:
            query = query.where(accounts.c.id > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        conn.execute(
            update,
            [
                {"account_id": r.id, "k": skeleton.key(r.handle), "s": skeleton.stem(r.handle)}
                for r in rows
            ],
        )
        last = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lookalike_key", sa.String(length=400), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("lookalike_stem", sa.String(length=400), server_default="", nullable=False)
        )
    _backfill()
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_lookalike_key", ["lookalike_key"], unique=False)
        batch_op.create_index("ix_accounts_lookalike_stem", ["lookalike_stem"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_accounts_lookalike_key_trgm",
        "accounts",
        ["lookalike_key"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"lookalike_key": "gin_trgm_ops"},
        postgresql_where=sa.text(_PUBLIC),
        sqlite_where=sa.text(_PUBLIC),
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_lookalike_key_trgm", table_name="accounts")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_lookalike_stem")
        batch_op.drop_index("ix_accounts_lookalike_key")
        batch_op.drop_column("lookalike_stem")
        batch_op.drop_column("lookalike_key")
