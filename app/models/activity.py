from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class ActivityPeriod(IdMixin, TimestampMixin, Base):
    """Posting figures for one account over one period, as a collector reported them."""

    __tablename__ = "activity"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "period_start", "period_end"),
        sa.Index("ix_activity_account_id_period_end", "account_id", "period_end"),
        # The compliance flags total the last 90 days of every account of some forces at
        # once: an index-only range scan per force of its window, instead of reading
        # years of history.
        sa.Index(
            "ix_activity_force_window_totals",
            "force_id",
            "period_end",
            "account_id",
            "original_posts",
            "reposts",
            "replies",
        ),
        sa.CheckConstraint("period_end >= period_start", name="period_ordered"),
        sa.CheckConstraint(
            "original_posts >= 0 AND reposts >= 0 AND replies >= 0 AND followers >= 0",
            name="counts_non_negative",
        ),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    period_start: Mapped[date]
    period_end: Mapped[date]
    original_posts: Mapped[int] = mapped_column(default=0)
    reposts: Mapped[int] = mapped_column(default=0)
    replies: Mapped[int] = mapped_column(default=0)
    followers: Mapped[int] = mapped_column(default=0)
    last_post_at: Mapped[datetime | None]
