from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from app.auth.deps import CurrentPrincipal, Session, require_roles, scope_force_id
from app.auth.principal import Principal
from app.errors import ValidationFailed
from app.guidelines import service
from app.guidelines.schemas import GuidelineCreate, GuidelineRead, OutstandingItem, SignoffRead
from app.idempotency import IdempotencyKey, created, fingerprint, idempotent
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

router = APIRouter(tags=["guidelines"])

Publisher = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]
Signer = Annotated[Principal, Depends(require_roles("staff", "comms_admin", "psd", "admin"))]
Overseer = Annotated[Principal, Depends(require_roles("comms_admin", "psd", "admin"))]
ForceQuery = Annotated[
    str | None, Query(max_length=40, description="Force code (national roles only).")
]


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this service issued.",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
    )


@router.post(
    "/guidelines",
    status_code=201,
    response_model=GuidelineRead,
    responses=errors(*AUTH_ERRORS, 409),
)
async def create_guideline(
    body: GuidelineCreate, session: Session, principal: Publisher, key: IdempotencyKey = None
) -> Response:
    """Publish a guideline version: national (admin) or a force's own (its comms_admin)."""

    async def create() -> tuple[GuidelineRead, str]:
        guideline = await service.create(session, principal, body)
        return guideline, f"/api/v1/guidelines/{guideline.id}"

    return await idempotent(session, principal, key, fingerprint("guidelines", body), create)


@router.get("/guidelines", response_model=Page[GuidelineRead], responses=errors(*AUTH_ERRORS, 404))
async def list_guidelines(
    session: Session,
    principal: CurrentPrincipal,
    force: ForceQuery = None,
    code: Annotated[str | None, Query(max_length=64)] = None,
    current: Annotated[bool, Query(description="Only the current version per document.")] = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[GuidelineRead]:
    """National guidelines and the caller's force's, ordered by code and version."""
    force_id = await scope_force_id(session, principal, force)
    after = None
    raw = decode_cursor(cursor, 3)
    if raw is not None:
        try:
            after = (str(raw[0]), int(raw[1] or ""), uuid.UUID(raw[2] or ""))
        except ValueError:
            raise _bad_cursor() from None
    rows = await service.list_guidelines(
        session,
        principal,
        force_id=force_id,
        code=code,
        current_only=current,
        after=after,
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit, lambda g: [g.code, g.version, g.id])
    return Page[GuidelineRead](items=items, next_cursor=next_cursor)


@router.get(
    "/guidelines/{guideline_id}", response_model=GuidelineRead, responses=errors(*AUTH_ERRORS, 404)
)
async def get_guideline(
    guideline_id: uuid.UUID, session: Session, principal: CurrentPrincipal
) -> GuidelineRead:
    """One guideline version."""
    return await service.get(session, principal, guideline_id)


@router.post(
    "/guidelines/{guideline_id}/signoffs",
    status_code=201,
    response_model=SignoffRead,
    responses={
        **errors(*AUTH_ERRORS, 404, 409),
        200: {"description": "Already signed: the existing sign-off."},
    },
)
async def sign_guideline(
    guideline_id: uuid.UUID, session: Session, principal: Signer, key: IdempotencyKey = None
) -> Response:
    """Sign this guideline version for yourself; signing again returns the first sign-off."""

    async def sign() -> tuple[SignoffRead, str]:
        result = await service.sign(session, principal, guideline_id)
        return result.signoff, f"/api/v1/signoffs/{result.signoff.id}"

    if key is None:
        result = await service.sign(session, principal, guideline_id)
        location = f"/api/v1/signoffs/{result.signoff.id}"
        return created(result.signoff, location, 201 if result.created else 200)
    status = 200 if await service.already_signed(session, principal, guideline_id) else 201
    print_ = fingerprint(f"guidelines/{guideline_id}/signoffs", {})
    return await idempotent(session, principal, key, print_, sign, status_code=status)


@router.get("/signoffs", response_model=Page[OutstandingItem], responses=errors(*AUTH_ERRORS, 404))
async def list_outstanding(
    session: Session,
    principal: Overseer,
    status: Annotated[Literal["outstanding"], Query()] = "outstanding",
    force: ForceQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[OutstandingItem]:
    """Who still has to sign what: active operators of live accounts, per current guideline."""
    force_id = await scope_force_id(session, principal, force)
    after = None
    raw = decode_cursor(cursor, 2)
    if raw is not None:
        try:
            after = (uuid.UUID(raw[0] or ""), uuid.UUID(raw[1] or ""))
        except ValueError:
            raise _bad_cursor() from None
    rows = await service.outstanding(
        session, principal, force_id=force_id, after=after, limit=limit
    )
    items, next_cursor = page_of(rows, limit, lambda o: [o.person.id, o.guideline_id])
    return Page[OutstandingItem](items=items, next_cursor=next_cursor)


@router.get(
    "/signoffs/{signoff_id}", response_model=SignoffRead, responses=errors(*AUTH_ERRORS, 404)
)
async def get_signoff(
    signoff_id: uuid.UUID, session: Session, principal: CurrentPrincipal
) -> SignoffRead:
    """One sign-off (comms_admin, psd, admin, or the person who signed)."""
    return await service.get_signoff(session, principal, signoff_id)


@router.get(
    "/people/{person_id}/signoffs",
    response_model=Page[SignoffRead],
    responses=errors(*AUTH_ERRORS, 404),
)
async def list_person_signoffs(
    person_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SignoffRead]:
    """A person's sign-offs, oldest first (comms_admin, psd, admin, or the person)."""
    after = None
    raw = decode_cursor(cursor, 2)
    if raw is not None:
        try:
            after = (cursor_instant(raw[0]), uuid.UUID(raw[1] or ""))
        except ValueError:
            raise _bad_cursor() from None
    rows = await service.signoffs_of_person(session, principal, person_id, after, limit)
    items, next_cursor = page_of(rows, limit, lambda s: [s.signed_at.isoformat(), s.id])
    return Page[SignoffRead](items=items, next_cursor=next_cursor)
