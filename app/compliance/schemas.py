from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from app.schemas import Input, LongText, Output, PersonRef


class AttestIn(Input):
    """The owner's periodic review of an account."""

    still_needed: bool
    note: LongText | None = None


class AttestationRead(Output):
    id: uuid.UUID
    account_id: uuid.UUID
    person: PersonRef | None = Field(
        description="The attesting owner; null where the caller may not see operators."
    )
    still_needed: bool
    note: str | None
    at: datetime
    review_due_on: date | None = Field(description="The account's next review date.")
    request_id: uuid.UUID | None = Field(
        description="The decommission request opened when the account is no longer needed."
    )
