from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.audit import BigId
from app.models.base import Base


class ReportStale(Base):
    """A force whose summary totals are out of date (NULL: every force). On PostgreSQL a
    trigger on audit_events inserts these in the transaction of the change; a recount
    deletes the rows it has accounted for."""

    __tablename__ = "report_stale"
    __table_args__ = (sa.Index("ix_report_stale_force_id", "force_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    force_id: Mapped[uuid.UUID | None]


class ReportTotals(Base):
    """A force's summary group rows as last recounted (PostgreSQL), good until
    `valid_until`, when time alone may change a flag."""

    __tablename__ = "report_totals"

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"), primary_key=True)
    computed_at: Mapped[datetime]
    valid_until: Mapped[datetime]
    # [[platform, classification, status, n, <one count per flag>, clean], ...]
    groups: Mapped[list[Any]] = mapped_column(sa.JSON())
