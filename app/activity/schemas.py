from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from app.schemas import Input, Output, RecordDate, RecordInstant

Count = Annotated[int, Field(ge=0, le=1_000_000_000)]


class ActivityIn(Input):
    """Posting figures for one account over one period (inclusive dates)."""

    period_start: RecordDate
    period_end: RecordDate
    original_posts: Count
    reposts: Count
    replies: Count
    followers: Count
    last_post_at: RecordInstant | None = Field(
        default=None, description="The account's latest post as seen by the collector."
    )

    @field_validator("period_end")
    @classmethod
    def _ordered(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("period_start")
        if start is not None and value < start:
            raise ValueError("period_end is before period_start")
        return value


class ActivityRead(Output):
    id: uuid.UUID
    account_id: uuid.UUID
    period_start: date
    period_end: date
    original_posts: int
    reposts: int
    replies: int
    followers: int
    last_post_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ImportRowError(Output):
    line: int
    field: str | None
    msg: str


class ActivityImportResult(Output):
    rows: int = Field(description="Data rows in the file.")
    created: int = Field(description="Periods that were new.")
    updated: int = Field(description="Periods that replaced earlier figures.")
