"""Review campaigns (a scope of accounts whose owners must attest by a date) and the
record of email digests sent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONDoc, VersionMixin, enum_check, utcnow

CAMPAIGN_STATUSES = ("open", "closed")
# An item's stored state; `attested` is read from the attestations, never stored (the
# owner attests through the one attestation route).
ITEM_STATUSES = ("pending", "overdue", "orphaned")
DIGEST_KINDS = ("person", "comms")


class Campaign(IdMixin, VersionMixin, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        sa.Index("ix_campaigns_force_id_created_at_id", "force_id", "created_at", "id"),
        sa.Index("ix_campaigns_status", "status"),
        enum_check("status", CAMPAIGN_STATUSES),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    message: Mapped[str] = mapped_column(sa.String(4000))
    due_on: Mapped[date]
    scope: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    status: Mapped[str] = mapped_column(sa.String(20), default="open", server_default="open")
    total: Mapped[int]
    created_by: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(255))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)


class CampaignItem(Base):
    """One account in a campaign's scope, as it was when the campaign was created."""

    __tablename__ = "campaign_items"
    __table_args__ = (
        sa.Index("ix_campaign_items_campaign_id_status", "campaign_id", "status"),
        sa.Index("ix_campaign_items_account_id", "account_id"),
        enum_check("status", ITEM_STATUSES),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(sa.String(20))
    notified_at: Mapped[datetime | None]
    reminded_7_at: Mapped[datetime | None]
    reminded_1_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]


class SentDigest(IdMixin, Base):
    """A daily digest sent: at most one per person, kind and day."""

    __tablename__ = "sent_digests"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "kind", "day"),
        enum_check("kind", DIGEST_KINDS),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    day: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
