from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field, create_model

from app.accounts.schemas import Classification, Flag, Platform, Status
from app.models.enums import ACCOUNT_STATUSES, CLASSIFICATIONS, FLAGS, PLATFORMS
from app.schemas import Output, PersonRef


class _Counts(Output):
    """A count for every value of a vocabulary (zero included), read as `counts[value]`."""

    def __getitem__(self, key: str) -> int:
        return int(getattr(self, key))


def _counts(name: str, values: tuple[str, ...], doc: str) -> Any:
    fields: dict[str, Any] = {value: (int, ...) for value in values}
    return create_model(name, __base__=_Counts, __doc__=doc, **fields)


if TYPE_CHECKING:
    # Their fields are made from the vocabularies at import; to a checker each is a _Counts.
    PlatformCounts = _Counts
    ClassificationCounts = _Counts
    StatusCounts = _Counts
    FlagCounts = _Counts
else:
    PlatformCounts = _counts("PlatformCounts", PLATFORMS, "Records per platform.")
    ClassificationCounts = _counts(
        "ClassificationCounts", CLASSIFICATIONS, "Records per classification."
    )
    StatusCounts = _counts("StatusCounts", ACCOUNT_STATUSES, "Records per status.")
    FlagCounts = _counts("FlagCounts", FLAGS, "Live accounts raising each flag.")


class ForceSummary(Output):
    force: str = Field(description="The force's code.")
    name: str
    total: int = Field(description="Every account record in the force, whatever its status.")
    live: int = Field(description="Accounts that are not decommissioned or rejected.")
    by_platform: PlatformCounts = Field(description="All records, per platform.")
    by_classification: ClassificationCounts = Field(description="All records, per classification.")
    by_status: StatusCounts = Field(description="All records, per status.")
    by_flag: FlagCounts = Field(description="Live accounts raising each flag.")
    compliance_rate: float | None = Field(
        description="Share of live accounts that raise no flag (0 to 1, four decimals); "
        "null when the force has no live account."
    )


class SummaryRead(Output):
    forces: list[ForceSummary]
    as_of: datetime = Field(
        description="The time the figures describe: on PostgreSQL, forces unchanged since "
        "their last count are served from it, so this is the oldest count among them."
    )


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
    why: dict[Flag, str] = Field(description="A short reason per raised flag.")
