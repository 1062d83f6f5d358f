"""Domain events on their way out: the outbox, webhooks and their deliveries, the worker's
scheduled jobs and the state the daily flag evaluation compares against."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONDoc, TimestampMixin, VersionMixin, enum_check

DELIVERY_STATUSES = ("pending", "delivered", "dead")


class OutboxEvent(Base):
    """One domain event, written in the transaction of the change it reports. Its id is
    the Standard Webhooks `webhook-id` of every delivery of it (retries included)."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        # The events not yet fanned out to webhooks (few), oldest first.
        sa.Index(
            "ix_outbox_events_unrouted",
            "created_at",
            sqlite_where=sa.text("routed_at IS NULL"),
            postgresql_where=sa.text("routed_at IS NULL"),
        ),
        sa.Index("ix_outbox_events_force_code_created_at", "force_code", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(sa.String(64))
    force_code: Mapped[str | None] = mapped_column(sa.String(40))
    subject: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime]
    routed_at: Mapped[datetime | None]


class Webhook(IdMixin, TimestampMixin, VersionMixin, Base):
    """A force's subscription (force_code NULL: a national one, admin only)."""

    __tablename__ = "webhooks"
    __table_args__ = (sa.Index("ix_webhooks_force_code", "force_code"),)

    force_code: Mapped[str | None] = mapped_column(sa.String(40))
    url: Mapped[str] = mapped_column(sa.String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSONDoc)
    secret: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_by: Mapped[str] = mapped_column(sa.String(255))


class WebhookDelivery(Base):
    """One event for one webhook: pending until the receiver answers 2xx, retried with
    backoff until `retry_until`, then dead. A claimed delivery's `next_attempt_at` is its
    lease: a worker that dies mid-send leaves it due again once the lease runs out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_id"),
        sa.Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_webhook_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
        enum_check("status", DELIVERY_STATUSES),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    webhook_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    retry_until: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[datetime | None]


class ScheduledJob(Base):
    """A periodic job of the worker: its row is locked while it runs (one runner across
    workers) and records the last run."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    last_run_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(2000))
    runs: Mapped[int] = mapped_column(default=0, server_default="0")


class FlagState(Base):
    """What the daily evaluation last found: a condition (a flag, a review or sign-off
    coming due or overdue) holding for an account or a person. Only changes emit events."""

    __tablename__ = "flag_states"

    entity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    condition: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    force_code: Mapped[str | None] = mapped_column(sa.String(40))
    since: Mapped[datetime]
