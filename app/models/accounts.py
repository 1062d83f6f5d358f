"""Accounts and what hangs off one: objectives, custodianships over time, holds, attestations."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.lookalikes import skeleton
from app.models.base import Base, IdMixin, TimestampMixin, VersionMixin, enum_check, utcnow
from app.models.enums import (
    ACCOUNT_STATUSES,
    CLASSIFICATIONS,
    CUSTODIAN_ROLES,
    PLATFORMS,
    RELEASED_STATUSES,
)

_LIVE = "status NOT IN ({})".format(", ".join(f"'{s}'" for s in RELEASED_STATUSES))
# The accounts the public may see (and so the only ones a look-alike can resemble).
PUBLIC_WHERE = "status = 'active' AND classification IN ('corporate', 'official')"


class Account(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        # One live record per platform handle, across every force; enforced here so
        # that two racing registrations cannot both succeed.
        sa.Index(
            "uq_accounts_live_platform_handle",
            "platform",
            "handle",
            unique=True,
            sqlite_where=sa.text(_LIVE),
            postgresql_where=sa.text(_LIVE),
        ),
        sa.Index("ix_accounts_platform_handle", "platform", "handle"),
        sa.Index("ix_accounts_force_id_id", "force_id", "id"),
        sa.Index("ix_accounts_force_id_status", "force_id", "status"),
        # Look-alike look-ups: equal keys/stems (both databases), similar keys by trigrams
        # (PostgreSQL's pg_trgm; a partial b-tree on SQLite) over the public accounts.
        sa.Index("ix_accounts_lookalike_key", "lookalike_key"),
        sa.Index("ix_accounts_lookalike_stem", "lookalike_stem"),
        sa.Index(
            "ix_accounts_lookalike_key_trgm",
            "lookalike_key",
            postgresql_using="gin",
            postgresql_ops={"lookalike_key": "gin_trgm_ops"},
            postgresql_where=sa.text(PUBLIC_WHERE),
            sqlite_where=sa.text(PUBLIC_WHERE),  # a plain partial index there
        ),
        # Keys one edit apart share a deletion (skeleton.deletions), PostgreSQL only.
        sa.Index(
            "ix_accounts_lookalike_deletions",
            sa.func.lookalike_deletions(sa.text("lookalike_key")),
            postgresql_using="gin",
            postgresql_where=sa.text(PUBLIC_WHERE),
        ).ddl_if(dialect="postgresql"),
        enum_check("platform", PLATFORMS),
        enum_check("classification", CLASSIFICATIONS),
        enum_check("status", ACCOUNT_STATUSES),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    platform: Mapped[str] = mapped_column(sa.String(20))
    handle: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str] = mapped_column(sa.String(2048), default="", server_default="")
    platform_account_id: Mapped[str | None] = mapped_column(sa.String(200))
    display_name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    classification: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20))
    is_anonymous: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # The current owner, kept in step with the open owner custodianship for fast reads.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    review_due_on: Mapped[date | None]
    last_post_at: Mapped[datetime | None]
    # True while any hold is unreleased; kept in step by the holds service.
    legal_hold: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The handle's look-alike key and stem (app.lookalikes.skeleton), kept in step with
    # `handle` on every write: precomputed so that look-alike look-ups are indexed.
    lookalike_key: Mapped[str] = mapped_column(sa.String(400), default="", server_default="")
    lookalike_stem: Mapped[str] = mapped_column(sa.String(400), default="", server_default="")

    @validates("handle")
    def _keep_lookalike_forms(self, _name: str, handle: str) -> str:
        self.lookalike_key, self.lookalike_stem = skeleton.key(handle), skeleton.stem(handle)
        return handle


class AccountObjective(Base):
    __tablename__ = "account_objectives"

    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    objective_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("objectives.id"), primary_key=True, index=True
    )


class Custodianship(IdMixin, Base):
    """Who owned or edited an account from `valid_from` until `valid_to` (open: still does)."""

    __tablename__ = "custodianships"
    __table_args__ = (
        sa.Index(
            "uq_custodianships_open_owner",
            "account_id",
            unique=True,
            sqlite_where=sa.text("role = 'owner' AND valid_to IS NULL"),
            postgresql_where=sa.text("role = 'owner' AND valid_to IS NULL"),
        ),
        sa.Index(
            "uq_custodianships_open_editor",
            "account_id",
            "person_id",
            unique=True,
            sqlite_where=sa.text("role = 'editor' AND valid_to IS NULL"),
            postgresql_where=sa.text("role = 'editor' AND valid_to IS NULL"),
        ),
        sa.Index("ix_custodianships_account_id_valid_from", "account_id", "valid_from"),
        sa.Index("ix_custodianships_person_id_valid_from", "person_id", "valid_from"),
        enum_check("role", CUSTODIAN_ROLES),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="interval_ordered"),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("people.id"))
    role: Mapped[str] = mapped_column(sa.String(10))
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None]


class LegalHold(IdMixin, Base):
    __tablename__ = "legal_holds"

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    case_reference: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str] = mapped_column(sa.String(4000))
    placed_by: Mapped[str] = mapped_column(sa.String(255))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(sa.String(255))
    released_at: Mapped[datetime | None]


class Attestation(IdMixin, Base):
    __tablename__ = "attestations"

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("people.id"))
    still_needed: Mapped[bool]
    note: Mapped[str | None] = mapped_column(sa.String(4000))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    review_due_on: Mapped[date | None]
    request_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("requests.id"))
