from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response

from app.auth.deps import CurrentPrincipal, Session, require_roles
from app.auth.principal import Principal
from app.concurrency import etag
from app.forces import repository, service
from app.forces.schemas import ForceCreate, ForceRead, ForceUpdate
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, page_of
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(prefix="/forces", tags=["forces"])

Admin = Annotated[Principal, Depends(require_roles("admin"))]
SettingsEditor = Annotated[Principal, Depends(require_roles("admin", "comms_admin"))]
CodePath = Annotated[str, Path(max_length=40, description="The force's code, e.g. `staffs`.")]


@router.get("", response_model=Page[ForceRead], responses=errors(*AUTH_ERRORS))
async def list_forces(
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ForceRead]:
    """Forces the caller can see: their own, or every force for national roles."""
    after = decode_cursor(cursor, 1)
    rows = await repository.list_visible(session, principal, after[0] if after else None, limit)
    items, next_cursor = page_of(rows, limit, lambda f: [f.code])
    return Page[ForceRead](
        items=[ForceRead.model_validate(f) for f in items], next_cursor=next_cursor
    )


@router.post("", status_code=201, response_model=ForceRead, responses=errors(*AUTH_ERRORS, 409))
async def create_force(
    body: ForceCreate, session: Session, principal: Admin, key: IdempotencyKey = None
) -> Response:
    """Register a force (national admin)."""

    async def create() -> tuple[ForceRead, str]:
        force = await service.create(session, principal, body)
        return ForceRead.model_validate(force), f"/api/v1/forces/{force.code}"

    return await idempotent(session, principal, key, fingerprint("forces", body), create)


@router.get("/{code}", response_model=ForceRead, responses=errors(*AUTH_ERRORS, 404))
async def get_force(
    code: CodePath, session: Session, principal: CurrentPrincipal, response: Response
) -> ForceRead:
    """One force and its compliance settings."""
    force = await service.get(session, principal, code)
    response.headers["ETag"] = etag(force.version)
    return ForceRead.model_validate(force)


@router.patch("/{code}", response_model=ForceRead, responses=errors(*AUTH_ERRORS, 404, 412, 428))
async def update_force(
    code: CodePath,
    body: ForceUpdate,
    session: Session,
    principal: SettingsEditor,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match", max_length=200)] = None,
) -> ForceRead:
    """Change a force's settings (comms_admin: own force; renaming is admin-only)."""
    force = await service.update(session, principal, code, body, if_match)
    response.headers["ETag"] = etag(force.version)
    return ForceRead.model_validate(force)
