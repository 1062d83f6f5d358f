from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONDoc, utcnow


class IdempotencyRecord(IdMixin, Base):
    """The first answer to a create sent with an Idempotency-Key, per caller."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("caller", "key"),)

    caller: Mapped[str] = mapped_column(sa.String(300))
    key: Mapped[str] = mapped_column(sa.String(255))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    body: Mapped[Any] = mapped_column(JSONDoc)
    location: Mapped[str | None] = mapped_column(sa.String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
