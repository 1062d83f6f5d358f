from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, JSONDoc

# A big integer that autoincrements on SQLite too (SQLite only does it for INTEGER).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Hash = sa.LargeBinary(32)


class AuditEvent(Base):
    """One audit event, written in the transaction of the change it describes.
    Append-only: PostgreSQL refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),
        sa.Index("ix_audit_events_force_id_id", "force_id", "id"),
        sa.Index("ix_audit_events_actor_sub_id", "actor_sub", "id"),
        sa.Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor_sub: Mapped[str] = mapped_column(sa.String(255))
    actor_roles: Mapped[list[str]] = mapped_column(JSONDoc)
    actor_force: Mapped[str | None] = mapped_column(sa.String(40))
    force_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("forces.id"))
    action: Mapped[str] = mapped_column(sa.String(64))
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    request_id: Mapped[str | None] = mapped_column(sa.String(128))


class AuditLeaf(Base):
    """An event's place in the Merkle tree: leaf indexes 0, 1, 2… in the order the
    sequencer took the committed events; each event at most once."""

    __tablename__ = "audit_leaves"

    leaf_index: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("audit_events.id"), unique=True
    )
    leaf_hash: Mapped[bytes] = mapped_column(Hash)


class AuditTreeNode(Base):
    """The hash of a complete subtree: leaves [index·2^level, (index+1)·2^level), level ≥ 1
    (level 0 is the leaf hash in audit_leaves)."""

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(Hash)


class AuditCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint as a signed note) of the tree at a size."""

    __tablename__ = "audit_checkpoints"

    # 1, 2, 3… given under the sequencer lock: a gap is a deleted checkpoint.
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(sa.BigInteger)
    root_hash: Mapped[bytes] = mapped_column(Hash)
    note: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
