"""Body and answer of `POST /requests/bulk`."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from app.accounts.schemas import AccountFilter
from app.schemas import Input, LongText, Output

BulkKind = Literal["decommission", "transfer"]
SkipReason = Literal["request-already-open", "legal-hold", "invalid-request", "no-owner"]


class BulkCreate(Input):
    kind: BulkKind
    filter: AccountFilter = Field(
        default_factory=AccountFilter,
        description="The query parameters of `GET /accounts`: every account they list gets "
        'a request (e.g. `{"flag": "dormant"}`, a `unit_id`, a `platform`).',
    )
    reason: LongText = ""
    details: dict[str, Any] = Field(
        default_factory=dict,
        max_length=20,
        description="As for one request of the kind: decommission `reason_code` (and "
        "`redirect_account_id` when centralising); transfer `owner_id`, `unit_id`, "
        "`objectives` (each defaulting to the account's own).",
    )
    dry_run: bool = Field(default=False, description="Say what would open; change nothing.")


class BulkSkip(Output):
    account_id: uuid.UUID
    reason: SkipReason


class BulkResult(Output):
    """A dry run answers `would_open` and `account_ids`; a real one `opened`, the
    `request_ids` and the `account_ids` they are for (in the same order)."""

    dry_run: bool
    opened: int | None = None
    would_open: int | None = None
    request_ids: list[uuid.UUID] = Field(default_factory=list)
    account_ids: list[uuid.UUID] = Field(default_factory=list)
    skipped: list[BulkSkip]
