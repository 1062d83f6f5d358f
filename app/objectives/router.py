from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.concurrency import etag
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.models.enums import ROLES
from app.objectives import service
from app.objectives.schemas import ObjectiveCreate, ObjectiveRead, ObjectiveUpdate
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.schemas import AUTH_ERRORS, ForceCode, errors

router = APIRouter(prefix="/objectives", tags=["objectives"])

Reader = Annotated[Principal, Depends(require_roles(*ROLES))]
Editor = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]
ForceParam = Annotated[
    ForceCode | None, Query(description="National roles: only this force's objectives.")
]


@router.get("", response_model=Page[ObjectiveRead], responses=errors(*AUTH_ERRORS, 404))
async def list_objectives(
    session: Session,
    principal: Reader,
    force: ForceParam = None,
    active: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ObjectiveRead]:
    """Strategy objectives of the caller's force (national roles: every force, or `?force=`)."""
    rows, next_cursor = await service.page(
        session, principal, force=force, active=active, cursor=cursor, limit=limit
    )
    return Page[ObjectiveRead](
        items=[ObjectiveRead.of(objective, code) for objective, code in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "", status_code=201, response_model=ObjectiveRead, responses=errors(*AUTH_ERRORS, 404, 409)
)
async def create_objective(
    body: ObjectiveCreate, session: Session, principal: Editor, key: IdempotencyKey = None
) -> Response:
    """Add a strategy objective that accounts can be linked to."""

    async def create() -> tuple[ObjectiveRead, str]:
        objective, code = await service.create(session, principal, body)
        return ObjectiveRead.of(objective, code), f"/api/v1/objectives/{objective.id}"

    return await idempotent(session, principal, key, fingerprint("objectives", body), create)


@router.get("/{objective_id}", response_model=ObjectiveRead, responses=errors(*AUTH_ERRORS, 404))
async def get_objective(
    objective_id: uuid.UUID, session: Session, principal: Reader, response: Response
) -> ObjectiveRead:
    """One objective; its ETag guards edits."""
    objective, code = await service.get(session, principal, objective_id)
    response.headers["ETag"] = etag(objective.version)
    return ObjectiveRead.of(objective, code)


@router.patch(
    "/{objective_id}",
    response_model=ObjectiveRead,
    responses=errors(*AUTH_ERRORS, 404, 409, 412, 428),
)
async def update_objective(
    objective_id: uuid.UUID,
    body: ObjectiveUpdate,
    session: Session,
    principal: Editor,
    response: Response,
    if_match: IfMatch = None,
) -> ObjectiveRead:
    """Retitle, recode, or (de)activate an objective (If-Match required)."""
    objective, code = await service.update(session, principal, objective_id, body, if_match)
    response.headers["ETag"] = etag(objective.version)
    return ObjectiveRead.of(objective, code)
