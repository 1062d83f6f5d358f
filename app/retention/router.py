from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.people.schemas import PersonRead
from app.retention import service
from app.retention.schemas import PersonExport
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(prefix="/people", tags=["people"])

SubjectAccess = Annotated[Principal, Depends(require_roles("psd", "admin"))]


@router.get("/{person_id}/export", response_model=PersonExport, responses=errors(*AUTH_ERRORS, 404))
async def export_person(
    person_id: uuid.UUID, session: Session, principal: SubjectAccess
) -> PersonExport:
    """Everything held about a person, for a subject access request (psd of their force,
    admin): record, custody intervals, sign-offs, attestations, requests they made, and
    audit events about them or by them."""
    person, code, held = await service.export(session, principal, person_id)
    return PersonExport.model_validate({"person": PersonRead.of(person, code), **held})
