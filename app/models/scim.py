"""SCIM provisioning: the bearer credentials a force's identity provider uses, and what
SCIM holds about a person beyond the person record's own fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONDoc, TimestampMixin, VersionMixin


class ScimCredential(IdMixin, TimestampMixin, VersionMixin, Base):
    """A per-force bearer secret for /scim/v2. Only the SHA-256 of the secret is kept (the
    secret is 256 random bits, so a plain hash is enough: nothing to brute-force)."""

    __tablename__ = "scim_credentials"
    __table_args__ = (sa.UniqueConstraint("force_id", "name"),)

    force_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("forces.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    secret_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by: Mapped[str] = mapped_column(sa.String(255))
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ScimUser(TimestampMixin, Base):
    """The last SCIM resource the provider sent for a person (attributes the registry
    does not map, such as name.givenName, are answered back from it); `deleted_at`: the
    provider deleted the user, so SCIM no longer shows it (the person stays, as a leaver)."""

    __tablename__ = "scim_users"

    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("people.id"), primary_key=True)
    resource: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    deleted_at: Mapped[datetime | None]
