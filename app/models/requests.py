"""Workflow requests with their decisions and checklists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import (
    Base,
    IdMixin,
    JSONDoc,
    TimestampMixin,
    VersionMixin,
    enum_check,
    utcnow,
)
from app.models.enums import OPEN_REQUEST_STATUSES, REQUEST_KINDS, REQUEST_STATUSES

_OPEN = "status IN ({})".format(", ".join(f"'{s}'" for s in OPEN_REQUEST_STATUSES))


class Request(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "requests"
    __table_args__ = (
        # At most one open request per account, enforced against racing submissions.
        sa.Index(
            "uq_requests_open_account",
            "account_id",
            unique=True,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        ),
        sa.Index("ix_requests_force_id_status", "force_id", "status"),
        # GET /requests pages a force's requests newest first by (created_at, id).
        sa.Index("ix_requests_force_id_created_at_id", "force_id", "created_at", "id"),
        sa.Index("ix_requests_account_id", "account_id"),
        enum_check("kind", REQUEST_KINDS),
        enum_check("status", REQUEST_STATUSES),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    reason: Mapped[str] = mapped_column(sa.String(4000), default="", server_default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="submitted")
    requested_by: Mapped[str] = mapped_column(sa.String(255))
    requested_by_name: Mapped[str | None] = mapped_column(sa.String(200))
    requested_by_person_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("people.id"))


class RequestDecision(IdMixin, Base):
    __tablename__ = "request_decisions"

    request_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("requests.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(20))
    from_status: Mapped[str] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    actor: Mapped[str] = mapped_column(sa.String(255))
    actor_name: Mapped[str | None] = mapped_column(sa.String(200))
    comment: Mapped[str | None] = mapped_column(sa.String(4000))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ChecklistItem(Base):
    __tablename__ = "request_checklist"

    request_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("requests.id"), primary_key=True)
    item: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    required: Mapped[bool] = mapped_column(default=True)
    done: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(sa.String(4000))
    done_by: Mapped[str | None] = mapped_column(sa.String(255))
    done_at: Mapped[datetime | None]
