from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from app.accounts.schemas import Classification, Flag, Platform, Status
from app.schemas import Output, PersonRef


class ForceSummary(Output):
    force: str = Field(description="The force's code.")
    name: str
    total: int = Field(description="Every account record in the force, whatever its status.")
    live: int = Field(description="Accounts that are not decommissioned or rejected.")
    by_platform: dict[str, int] = Field(description="All records, per platform.")
    by_classification: dict[str, int] = Field(description="All records, per classification.")
    by_status: dict[str, int] = Field(description="All records, per status.")
    by_flag: dict[str, int] = Field(description="Live accounts raising each flag.")
    compliance_rate: float | None = Field(
        description="Share of live accounts that raise no flag (0 to 1, four decimals); "
        "null when the force has no live account."
    )


class SummaryRead(Output):
    forces: list[ForceSummary]


class ComplianceItem(Output):
    id: uuid.UUID
    force: str
    platform: Platform
    handle: str
    url: str
    display_name: str
    classification: Classification
    status: Status
    owner: PersonRef | None = Field(
        description="Null where there is none, or where the caller may not see operators."
    )
    operators_redacted: bool = Field(
        default=False,
        description="True where the caller may not see who runs the account: no owner is "
        "shown and no reason names anyone.",
    )
    review_due_on: date | None
    last_post_at: datetime | None
    flags: list[Flag]
    why: dict[str, str] = Field(description="A short reason per raised flag.")
