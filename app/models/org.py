"""Forces and what belongs to a force's organisation: units, people, objectives."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin, VersionMixin, enum_check
from app.models.enums import PERSON_STATUSES, UNIT_KINDS


class Force(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "forces"

    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    dormancy_days: Mapped[int] = mapped_column(default=90, server_default="90")
    review_interval_days: Mapped[int] = mapped_column(default=365, server_default="365")
    signoff_grace_days: Mapped[int] = mapped_column(default=30, server_default="30")


class Unit(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "units"
    __table_args__ = (
        sa.UniqueConstraint("force_id", "name"),
        enum_check("kind", UNIT_KINDS),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(40))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"), index=True)


class Person(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "people"
    __table_args__ = (
        sa.UniqueConstraint("force_id", "staff_id"),
        sa.Index(
            "uq_people_force_id_subject",
            "force_id",
            "subject",
            unique=True,
            sqlite_where=sa.text("subject IS NOT NULL"),
            postgresql_where=sa.text("subject IS NOT NULL"),
        ),
        sa.Index("ix_people_subject", "subject"),
        sa.Index("ix_people_force_id_id", "force_id", "id"),
        # The people who have left (a few per cent), for the orphaned and
        # guidelines_outstanding flags over every account, without reading every person.
        sa.Index(
            "ix_people_leavers",
            "id",
            sqlite_where=sa.text("status = 'left'"),
            postgresql_where=sa.text("status = 'left'"),
        ),
        enum_check("status", PERSON_STATUSES),
    )

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    staff_id: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    subject: Mapped[str | None] = mapped_column(sa.String(255))
    job_title: Mapped[str | None] = mapped_column(sa.String(200))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="active", server_default="active")
    left_on: Mapped[date | None]


class Objective(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "objectives"
    __table_args__ = (sa.UniqueConstraint("force_id", "code"),)

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"))
    code: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
