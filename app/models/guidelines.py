from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, utcnow


class Guideline(IdMixin, Base):
    """One version of a guideline document: national (no force) or a force's own."""

    __tablename__ = "guidelines"
    __table_args__ = (
        sa.Index(
            "uq_guidelines_national_code_version",
            "code",
            "version",
            unique=True,
            sqlite_where=sa.text("force_id IS NULL"),
            postgresql_where=sa.text("force_id IS NULL"),
        ),
        sa.Index(
            "uq_guidelines_force_code_version",
            "force_id",
            "code",
            "version",
            unique=True,
            sqlite_where=sa.text("force_id IS NOT NULL"),
            postgresql_where=sa.text("force_id IS NOT NULL"),
        ),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    force_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("forces.id"))
    code: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    document_url: Mapped[str] = mapped_column(sa.String(2048))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    effective_from: Mapped[datetime]
    requires_resign: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signoff(IdMixin, Base):
    """A person's signature of one exact guideline version; never edited."""

    __tablename__ = "signoffs"
    __table_args__ = (
        sa.UniqueConstraint("guideline_id", "person_id"),
        sa.Index("ix_signoffs_person_id", "person_id"),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    guideline_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("guidelines.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("people.id"))
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
