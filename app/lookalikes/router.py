from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth.deps import ReadDatabase, require_roles
from app.auth.principal import Principal
from app.lookalikes import service
from app.lookalikes.schemas import AccountLookalikes, CheckResult, LookalikeCheck
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(tags=["lookalikes"])

Reader = Annotated[
    Principal,
    Depends(require_roles("staff", "comms_admin", "psd", "collector", "auditor", "admin")),
]
Checker = Annotated[Principal, Depends(require_roles("comms_admin", "psd", "auditor", "admin"))]


@router.get(
    "/accounts/{account_id}/lookalikes",
    response_model=AccountLookalikes,
    responses=errors(*AUTH_ERRORS, 404),
    operation_id="list_account_lookalikes",
)
async def list_account_lookalikes(
    account_id: uuid.UUID, db: ReadDatabase, principal: Reader
) -> AccountLookalikes:
    """The active official or corporate accounts this account's handle resembles and, for
    an official or corporate account, the live unofficial accounts in your scope that
    share its skeleton (the `imitates_official` flag)."""
    return await service.account_lookalikes(db, principal, account_id)


@router.post(
    "/lookalikes/check",
    response_model=CheckResult,
    response_model_exclude_none=True,
    responses=errors(*AUTH_ERRORS),
    operation_id="check_lookalikes",
)
async def check_lookalikes(body: LookalikeCheck, db: ReadDatabase, _: Checker) -> CheckResult:
    """Up to 500 links reported by the public, each answered `verified`, `imitates` (with
    the accounts it resembles), `unknown` or `invalid`, in the order given."""
    return await service.check(db, body.urls)
