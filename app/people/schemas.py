from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema

from app.models import Person
from app.schemas import ForceCode, Input, Name, Output, ServiceDate, ShortText, filled

StaffId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=filled(r"^\x00-\x1f\x7f"))
]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
# A pragmatic address check: one @, a local part of at most 64 characters without
# spaces, a dotted domain of letters, digits and hyphens; 254 in all (RFC 5321).
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("not a valid email address")
    return value


Email = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
PersonStatus = Literal["active", "left"]


class PersonCreate(Input):
    staff_id: StaffId
    name: Name
    email: Email | None = None
    subject: Subject | None = Field(
        default=None, description="The sign-in subject (`sub`) that links a caller to this person."
    )
    job_title: ShortText | None = None
    unit_id: uuid.UUID | None = None
    force: ForceCode | None = Field(
        default=None, description="National callers name the force; others may omit it."
    )


class PersonUpdate(Input):
    """Descriptive fields only: leaving is `POST /people/{id}/leave`, never a PATCH."""

    # Omitted is "unchanged"; an explicit null is refused for fields a person must have.
    staff_id: Annotated[StaffId, Field(default=None)]
    name: Annotated[Name, Field(default=None)]
    email: Email | None = None
    subject: Subject | None = None
    job_title: ShortText | None = None
    unit_id: uuid.UUID | None = None


class LeaveBody(Input):
    left_on: ServiceDate = Field(description="The last day of service; today or earlier.")


class PersonRead(Output):
    id: uuid.UUID
    force: str
    staff_id: str
    name: str
    email: str | None
    subject: str | None
    job_title: str | None
    unit_id: uuid.UUID | None
    status: PersonStatus
    left_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, person: Person, force: str) -> PersonRead:
        return cls(
            id=person.id,
            force=force,
            staff_id=person.staff_id,
            name=person.name,
            email=person.email,
            subject=person.subject,
            job_title=person.job_title,
            unit_id=person.unit_id,
            status=person.status,  # type: ignore[arg-type]
            left_on=person.left_on,
            version=person.version,
            created_at=person.created_at,
            updated_at=person.updated_at,
        )
