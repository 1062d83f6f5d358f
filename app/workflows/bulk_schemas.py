"""Body and answer of `POST /requests/bulk`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool

from app.accounts.schemas import AccountFilter
from app.schemas import Input, LongText, Output
from app.workflows.schemas import DecommissionDetails, TransferDetails

BulkKind = Literal["decommission", "transfer"]
SkipReason = Literal["request-already-open", "legal-hold", "invalid-request", "no-owner"]


class _BulkCreateBase(BaseModel):
    # Input's rules, less its before-validators, which a discriminator field may not have
    # (so the flag is strict here: true or false, not "yes").
    model_config = Input.model_config

    filter: AccountFilter = Field(
        default_factory=AccountFilter,
        description="The query parameters of `GET /accounts`: every account they list gets "
        'a request (e.g. `{"flag": "dormant"}`, a `unit_id`, a `platform`).',
    )
    reason: LongText = ""
    dry_run: StrictBool = Field(default=False, description="Say what would open; change nothing.")


class BulkDecommissionCreate(_BulkCreateBase):
    """Close every matching account: why (`reason_code`), and where followers go
    (`redirect_account_id` when centralising)."""

    kind: Literal["decommission"]
    details: DecommissionDetails


class BulkTransferCreate(_BulkCreateBase):
    """Make every matching account official; each field defaults to the account's own."""

    kind: Literal["transfer"]
    details: TransferDetails = Field(default_factory=TransferDetails)


# One schema per kind, told apart by `kind`, as for one request.
BulkCreate = Annotated[BulkDecommissionCreate | BulkTransferCreate, Field(discriminator="kind")]


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
