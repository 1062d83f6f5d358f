from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, JSONDoc

# A big integer that autoincrements on SQLite too (SQLite only does it for INTEGER).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class AuditEvent(Base):
    """One link of the hash chain. Append-only: PostgreSQL refuses UPDATE and DELETE."""

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
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
