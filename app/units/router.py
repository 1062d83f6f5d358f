from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.concurrency import etag
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.models.enums import ROLES
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.schemas import AUTH_ERRORS, ForceCode, errors
from app.units import service
from app.units.schemas import UnitCreate, UnitRead, UnitUpdate

router = APIRouter(prefix="/units", tags=["units"])

Reader = Annotated[Principal, Depends(require_roles(*ROLES))]
Editor = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]
ForceParam = Annotated[
    ForceCode | None, Query(description="National roles: only this force's units.")
]


@router.get("", response_model=Page[UnitRead], responses=errors(*AUTH_ERRORS, 404))
async def list_units(
    session: Session,
    principal: Reader,
    force: ForceParam = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[UnitRead]:
    """Units of the caller's force (national roles: every force, or `?force=`)."""
    rows, next_cursor = await service.page(
        session, principal, force=force, cursor=cursor, limit=limit
    )
    return Page[UnitRead](
        items=[UnitRead.of(unit, code) for unit, code in rows], next_cursor=next_cursor
    )


@router.post("", status_code=201, response_model=UnitRead, responses=errors(*AUTH_ERRORS, 404, 409))
async def create_unit(
    body: UnitCreate, session: Session, principal: Editor, key: IdempotencyKey = None
) -> Response:
    """Add a unit to the force's organisation."""

    async def create() -> tuple[UnitRead, str]:
        unit, code = await service.create(session, principal, body)
        return UnitRead.of(unit, code), f"/api/v1/units/{unit.id}"

    return await idempotent(session, principal, key, fingerprint("units", body), create)


@router.get("/{unit_id}", response_model=UnitRead, responses=errors(*AUTH_ERRORS, 404))
async def get_unit(
    unit_id: uuid.UUID, session: Session, principal: Reader, response: Response
) -> UnitRead:
    """One unit; its ETag guards edits."""
    unit, code = await service.get(session, principal, unit_id)
    response.headers["ETag"] = etag(unit.version)
    return UnitRead.of(unit, code)


@router.patch(
    "/{unit_id}", response_model=UnitRead, responses=errors(*AUTH_ERRORS, 404, 409, 412, 428)
)
async def update_unit(
    unit_id: uuid.UUID,
    body: UnitUpdate,
    session: Session,
    principal: Editor,
    response: Response,
    if_match: IfMatch = None,
) -> UnitRead:
    """Rename a unit, change its kind or move it under another unit (If-Match required)."""
    unit, code = await service.update(session, principal, unit_id, body, if_match)
    response.headers["ETag"] = etag(unit.version)
    return UnitRead.of(unit, code)


@router.delete("/{unit_id}", status_code=204, responses=errors(*AUTH_ERRORS, 404, 409, 412))
async def delete_unit(
    unit_id: uuid.UUID, session: Session, principal: Editor, if_match: IfMatch = None
) -> Response:
    """Remove a unit nothing refers to any more (people, accounts, sub-units)."""
    await service.delete(session, principal, unit_id, if_match)
    return Response(status_code=204)
