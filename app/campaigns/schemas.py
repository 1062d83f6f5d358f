"""Bodies and answers of the review campaign routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from app.accounts.schemas import AccountFilter
from app.schemas import Input, LongText, Name, Output, RecordDate

CampaignStatus = Literal["open", "closed"]
ItemStatus = Literal["pending", "attested", "overdue", "orphaned"]
ITEM_STATUSES: tuple[str, ...] = ItemStatus.__args__  # type: ignore[attr-defined]


class CampaignCreate(Input):
    name: Name
    filter: AccountFilter = Field(
        default_factory=AccountFilter,
        description="The query parameters of `GET /accounts`; the active and suspended "
        "accounts they list now are the campaign's scope (national callers name `force`).",
    )
    due_on: RecordDate = Field(description="Owners attest before this day; after it, overdue.")
    message: LongText = ""


class UnitProgress(Output):
    unit_id: uuid.UUID | None
    unit: str | None
    total: int
    by_status: dict[str, int]


class Progress(Output):
    total: int
    by_status: dict[str, int] = Field(
        description="`pending`, `attested` (the owner attested since the campaign began), "
        "`overdue` (not attested by `due_on`), `orphaned` (no active owner: with the comms "
        "team)."
    )
    by_unit: list[UnitProgress]


class CampaignSummary(Output):
    id: uuid.UUID
    force: str
    name: str
    message: str
    due_on: date
    status: CampaignStatus
    total: int
    scope: dict[str, Any]
    created_at: datetime
    closed_at: datetime | None


class CampaignRead(CampaignSummary):
    progress: Progress
    result: Progress | None = Field(description="The progress when it was closed.")
