from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.holds import service
from app.holds.schemas import HoldCreate, HoldRead
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.models import LegalHold
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(prefix="/accounts/{account_id}/holds", tags=["legal holds"])

HoldKeeper = Annotated[Principal, Depends(require_roles("psd", "admin"))]


def _read(hold: LegalHold, force: str) -> HoldRead:
    return HoldRead(
        id=hold.id,
        account_id=hold.account_id,
        force=force,
        case_reference=hold.case_reference,
        reason=hold.reason,
        placed_by=hold.placed_by,
        placed_at=hold.placed_at,
        released_by=hold.released_by,
        released_at=hold.released_at,
        active=hold.released_at is None,
    )


@router.get("", response_model=Page[HoldRead], responses=errors(*AUTH_ERRORS, 404))
async def list_holds(
    account_id: uuid.UUID,
    session: Session,
    principal: HoldKeeper,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[HoldRead]:
    """Every legal hold of an account, released ones included, newest first (PSD, admin)."""
    holds, next_cursor, force = await service.page(session, principal, account_id, cursor, limit)
    return Page[HoldRead](items=[_read(h, force) for h in holds], next_cursor=next_cursor)


@router.post("", status_code=201, response_model=HoldRead, responses=errors(*AUTH_ERRORS, 404))
async def place_hold(
    account_id: uuid.UUID,
    body: HoldCreate,
    session: Session,
    principal: HoldKeeper,
    key: IdempotencyKey = None,
) -> Response:
    """Place a legal hold on an account: it cannot be decommissioned until released."""

    async def create() -> tuple[HoldRead, str]:
        hold, force = await service.place(session, principal, account_id, body)
        return _read(hold, force), f"/api/v1/accounts/{account_id}/holds/{hold.id}"

    print_ = fingerprint(f"accounts/{account_id}/holds", body)
    return await idempotent(session, principal, key, print_, create)


@router.delete("/{hold_id}", response_model=HoldRead, responses=errors(*AUTH_ERRORS, 404, 409))
async def release_hold(
    account_id: uuid.UUID, hold_id: uuid.UUID, session: Session, principal: HoldKeeper
) -> HoldRead:
    """Release a legal hold; it stays on record with who released it and when."""
    hold, force = await service.release(session, principal, account_id, hold_id)
    return _read(hold, force)
