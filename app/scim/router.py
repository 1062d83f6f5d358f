"""/api/v1/forces/{code}/scim-credentials: the secrets a force's identity provider uses."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.schemas import AUTH_ERRORS, errors
from app.scim import credentials as service
from app.scim.schemas import ScimCredentialCreate, ScimCredentialRead, ScimCredentialSecret

router = APIRouter(prefix="/forces/{code}/scim-credentials", tags=["scim"])

Admin = Annotated[Principal, Depends(require_roles("admin"))]
CodePath = Annotated[str, Path(max_length=40, description="The force's code, e.g. `staffs`.")]


@router.post(
    "",
    status_code=201,
    response_model=ScimCredentialSecret,
    responses=errors(*AUTH_ERRORS, 404, 409),
)
async def create_scim_credential(
    code: CodePath,
    body: ScimCredentialCreate,
    session: Session,
    principal: Admin,
    response: Response,
) -> ScimCredentialSecret:
    """Issue a SCIM bearer secret for the force (admin); the secret is shown only now."""
    made, secret = await service.create(session, principal, code, body.name)
    response.headers["Location"] = f"/api/v1/forces/{code}/scim-credentials/{made.id}"
    return ScimCredentialSecret(id=made.id, name=made.name, secret=secret)


@router.get("", response_model=Page[ScimCredentialRead], responses=errors(*AUTH_ERRORS, 404))
async def list_scim_credentials(
    code: CodePath,
    session: Session,
    principal: Admin,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ScimCredentialRead]:
    """The force's SCIM credentials, revoked ones included (never their secrets)."""
    items, next_cursor = await service.page(session, principal, code, cursor, limit)
    return Page[ScimCredentialRead](
        items=[ScimCredentialRead.model_validate(c) for c in items], next_cursor=next_cursor
    )


@router.post(
    "/{credential_id}/rotate",
    response_model=ScimCredentialSecret,
    responses=errors(*AUTH_ERRORS, 404, 409),
)
async def rotate_scim_credential(
    code: CodePath, credential_id: uuid.UUID, session: Session, principal: Admin
) -> ScimCredentialSecret:
    """A new secret for the credential (shown only now); the old one stops working."""
    found, secret = await service.rotate(session, principal, code, credential_id)
    return ScimCredentialSecret(id=found.id, name=found.name, secret=secret)


@router.delete("/{credential_id}", status_code=204, responses=errors(*AUTH_ERRORS, 404))
async def revoke_scim_credential(
    code: CodePath, credential_id: uuid.UUID, session: Session, principal: Admin
) -> Response:
    """Revoke the credential: its secret stops working at once (the record stays)."""
    await service.revoke(session, principal, code, credential_id)
    return Response(status_code=204)
