from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.compliance import service
from app.compliance.schemas import AttestationRead, AttestIn
from app.errors import ValidationFailed
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    cursor_instant,
    decode_cursor,
    page_of,
)
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(tags=["compliance"])

Attester = Annotated[Principal, Depends(require_roles("staff", "comms_admin", "psd", "admin"))]
Overseer = Annotated[Principal, Depends(require_roles(*service.OVERSIGHT_ROLES))]


@router.post(
    "/accounts/{account_id}/attest",
    status_code=201,
    response_model=AttestationRead,
    responses=errors(*AUTH_ERRORS, 404, 409),
)
async def attest(
    account_id: uuid.UUID,
    body: AttestIn,
    session: Session,
    principal: Attester,
    key: IdempotencyKey = None,
) -> Response:
    """The owner's periodic review: records it and sets the next review date."""

    async def create() -> tuple[AttestationRead, str]:
        attestation = await service.attest(session, principal, account_id, body)
        return attestation, f"/api/v1/accounts/{account_id}/attestations/{attestation.id}"

    print_ = fingerprint(f"accounts/{account_id}/attest", body)
    return await idempotent(session, principal, key, print_, create)


@router.get(
    "/accounts/{account_id}/attestations",
    response_model=Page[AttestationRead],
    responses=errors(*AUTH_ERRORS, 404),
)
async def list_attestations(
    account_id: uuid.UUID,
    session: Session,
    principal: Overseer,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AttestationRead]:
    """An account's reviews, oldest first (comms_admin, psd, admin)."""
    after = None
    raw = decode_cursor(cursor, 2)
    if raw is not None:
        try:
            after = (cursor_instant(raw[0]), uuid.UUID(raw[1] or ""))
        except ValueError:
            raise ValidationFailed(
                "The cursor is not one this service issued.",
                errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
            ) from None
    rows = await service.list_attestations(session, principal, account_id, after, limit)
    items, next_cursor = page_of(rows, limit, lambda a: [a.at.isoformat(), a.id])
    return Page[AttestationRead](items=items, next_cursor=next_cursor)


@router.get(
    "/accounts/{account_id}/attestations/{attestation_id}",
    response_model=AttestationRead,
    responses=errors(*AUTH_ERRORS, 404),
)
async def get_attestation(
    account_id: uuid.UUID, attestation_id: uuid.UUID, session: Session, principal: Attester
) -> AttestationRead:
    """One review (oversight roles, or the person who made it)."""
    return await service.get_attestation(session, principal, account_id, attestation_id)
