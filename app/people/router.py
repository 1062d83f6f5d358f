from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.concurrency import etag
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.people import service
from app.people.schemas import LeaveBody, PersonCreate, PersonRead, PersonUpdate
from app.schemas import AUTH_ERRORS, ForceCode, errors

router = APIRouter(prefix="/people", tags=["people"])

# Who reads people records (`app.auth.redaction`): admin all, comms_admin and psd their
# force's, staff and collectors their own record only; auditors none (403).
Reader = Annotated[
    Principal, Depends(require_roles("staff", "comms_admin", "psd", "collector", "admin"))
]
Editor = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]
ForceParam = Annotated[
    ForceCode | None, Query(description="National roles: only this force's people.")
]
Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Part of a name or staff id; `%` and `_` match themselves.",
    ),
]


@router.get("", response_model=Page[PersonRead], responses=errors(*AUTH_ERRORS, 404))
async def list_people(
    session: Session,
    principal: Reader,
    force: ForceParam = None,
    status: Literal["active", "left"] | None = None,
    unit_id: uuid.UUID | None = None,
    q: Search = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PersonRead]:
    """People the caller may read: admin every force (or `?force=`), comms_admin and psd
    their force, staff and collectors only their own record; auditors none."""
    rows, next_cursor = await service.page(
        session,
        principal,
        force=force,
        status=status,
        unit_id=unit_id,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    return Page[PersonRead](
        items=[PersonRead.of(person, code) for person, code in rows], next_cursor=next_cursor
    )


@router.post(
    "", status_code=201, response_model=PersonRead, responses=errors(*AUTH_ERRORS, 404, 409)
)
async def create_person(
    body: PersonCreate, session: Session, principal: Editor, key: IdempotencyKey = None
) -> Response:
    """Add a member of staff to the force's register."""

    async def create() -> tuple[PersonRead, str]:
        person, code = await service.create(session, principal, body)
        return PersonRead.of(person, code), f"/api/v1/people/{person.id}"

    return await idempotent(session, principal, key, fingerprint("people", body), create)


@router.get("/{person_id}", response_model=PersonRead, responses=errors(*AUTH_ERRORS, 404))
async def get_person(
    person_id: uuid.UUID, session: Session, principal: Reader, response: Response
) -> PersonRead:
    """One person (admin; comms_admin, psd of their force; staff their own record, any
    other is 404); their ETag guards edits."""
    person, code = await service.get(session, principal, person_id)
    response.headers["ETag"] = etag(person.version)
    return PersonRead.of(person, code)


@router.patch(
    "/{person_id}",
    response_model=PersonRead,
    responses=errors(*AUTH_ERRORS, 404, 409, 412, 428),
)
async def update_person(
    person_id: uuid.UUID,
    body: PersonUpdate,
    session: Session,
    principal: Editor,
    response: Response,
    if_match: IfMatch = None,
) -> PersonRead:
    """Edit a person's details (If-Match required); leaving is its own move."""
    person, code = await service.update(session, principal, person_id, body, if_match)
    response.headers["ETag"] = etag(person.version)
    return PersonRead.of(person, code)


@router.post(
    "/{person_id}/leave", response_model=PersonRead, responses=errors(*AUTH_ERRORS, 404, 409)
)
async def leave(
    person_id: uuid.UUID, body: LeaveBody, session: Session, principal: Editor, response: Response
) -> PersonRead:
    """Mark a leaver: their editor roles end now; accounts they own become `orphaned`."""
    person, code = await service.leave(session, principal, person_id, body)
    response.headers["ETag"] = etag(person.version)
    return PersonRead.of(person, code)
