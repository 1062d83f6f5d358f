from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from app.schemas import Code, ForceCode, Input, Name, Output, PersonRef, RecordInstant, Url

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{64}$")]


class GuidelineCreate(Input):
    """A new guideline version. `force` omitted: the caller's force (comms_admin) or a
    national guideline (admin). `version` omitted: the server assigns latest + 1."""

    force: ForceCode | None = None
    code: Code
    version: int | None = Field(default=None, ge=1, le=1_000_000)
    title: Name
    document_url: Url
    sha256: Sha256 = Field(description="SHA-256 of the document text, 64 hex digits.")
    effective_from: RecordInstant
    requires_resign: bool = True

    @field_validator("sha256")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class GuidelineRead(Output):
    id: uuid.UUID
    force: str | None = Field(description="Force code; null for a national guideline.")
    code: str
    version: int
    title: str
    document_url: str
    sha256: str
    effective_from: datetime
    requires_resign: bool
    current: bool = Field(description="The highest version of this document in effect now.")
    created_at: datetime


class SignoffRead(Output):
    id: uuid.UUID
    force: str
    guideline_id: uuid.UUID
    code: str
    version: int
    sha256: str
    person: PersonRef
    signed_at: datetime


class OutstandingSignoff(Output):
    """A current guideline the person has not validly signed."""

    guideline_id: uuid.UUID
    force: str | None
    code: str
    version: int
    title: str
    document_url: str
    sha256: str
    effective_from: datetime
    due_on: date = Field(description="effective_from's date + the force's signoff_grace_days.")
    overdue: bool


class OutstandingItem(OutstandingSignoff):
    person: PersonRef
