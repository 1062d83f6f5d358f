"""The audit log as a Merkle tree (RFC 9162): leaves in sequencer order, the hashes of
complete subtrees, signed checkpoints. Existing events become leaves 0…n-1 in id order;
the hash chain columns go (the tree replaces them). On PostgreSQL every audit table
refuses UPDATE, DELETE and TRUNCATE.

Revision ID: audit_tree
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision = "audit_tree"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = ("audit_events", "audit_leaves", "audit_tree_nodes", "audit_checkpoints")
_GUARD = """
CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
_BATCH = 5_000
_EVENT_COLUMNS = (
    "id", "at", "actor_sub", "actor_roles", "actor_force", "force_id", "action",
    "entity_type", "entity_id", "changes", "request_id",
)  # fmt: skip


def _events() -> sa.TableClause:
    return sa.table(
        "audit_events",
        *(sa.column(c) for c in _EVENT_COLUMNS if c not in ("at", "actor_roles", "changes")),
        sa.column("at", UTCDateTime()),
        sa.column("actor_roles", sa.JSON()),
        sa.column("changes", sa.JSON()),
    )


def _backfill() -> None:
    from app.audit.verifier import CompactRange, event_leaf, leaf_hash

    conn = op.get_bind()
    events = _events()
    leaves = sa.table(
        "audit_leaves", sa.column("leaf_index"), sa.column("event_id"), sa.column("leaf_hash")
    )
    nodes = sa.table("audit_tree_nodes", sa.column("level"), sa.column("index"), sa.column("hash"))
    tree = CompactRange()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(events).where(events.c.id > last).order_by(events.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        leaf_rows, node_rows = [], []
        for row in rows:
            digest = leaf_hash(event_leaf(row._asdict()))
            leaf_rows.append({"leaf_index": tree.size, "event_id": row.id, "leaf_hash": digest})
            node_rows += [{"level": lv, "index": ix, "hash": h} for lv, ix, h in tree.append(digest)]
        conn.execute(sa.insert(leaves), leaf_rows)
        if node_rows:
            conn.execute(sa.insert(nodes), node_rows)
        last = rows[-1].id


def upgrade() -> None:
    # First (SQLite rebuilds the table to drop columns: before anything references it).
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        # ALTER TABLE … DROP COLUMN is not an UPDATE: the row trigger lets it through.
        op.execute("ALTER TABLE audit_events DROP CONSTRAINT uq_audit_events_hash")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        if not pg:
            batch_op.drop_constraint("uq_audit_events_hash", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    op.create_table(
        "audit_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_events.id"], name=op.f("fk_audit_leaves_event_id_audit_events")
        ),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_audit_leaves")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_leaves_event_id")),
    )
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_audit_tree_nodes")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )  # fmt: skip
    _backfill()
    if pg:
        op.execute(_GUARD)
        for table in _TABLES:
            if table != "audit_events":
                op.execute(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
                )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
            )


def _link(prev: str, row: sa.Row) -> str:
    """The hash chain link of revision 0003 (for the downgrade)."""
    doc = {
        "at": row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_sub": row.actor_sub,
        "actor_roles": list(row.actor_roles or []),
        "actor_force": row.actor_force,
        "force_id": str(row.force_id) if row.force_id else None,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "changes": row.changes or {},
        "request_id": row.request_id,
    }
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode() + b"\n" + canonical.encode()).hexdigest()


def downgrade() -> None:
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    if pg:
        for table in _TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            if table != "audit_events":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_tree_nodes")
    op.drop_table("audit_leaves")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    # Re-link the chain over the events, in id order.
    if pg:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    events = _events()
    chain = sa.table("audit_events", sa.column("id"), sa.column("prev_hash"), sa.column("hash"))
    update = (
        chain.update()
        .where(chain.c.id == sa.bindparam("event_id"))
        .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h"))
    )
    prev, last = "0" * 64, 0
    while rows := conn.execute(
        sa.select(events).where(events.c.id > last).order_by(events.c.id).limit(_BATCH)
    ).all():
        links = []
        for row in rows:
            digest = _link(prev, row)
            links.append({"event_id": row.id, "p": prev, "h": digest})
            prev = digest
        conn.execute(update, links)
        last = rows[-1].id
    if pg:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_audit_events_hash", ["hash"])
