from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.accounts import probes
from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.config import Settings
from app.idempotency import IdempotencyKey, idempotent
from app.imports import service
from app.imports.parsing import COLUMNS
from app.imports.schemas import ImportResult
from app.imports.stream import too_many_rows
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(prefix="/imports", tags=["imports"])

Importer = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]

MAX_ROWS_DEFAULT = Settings.model_fields["import_max_rows"].default

_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            f"CSV, UTF-8, header on line 1. Columns: {', '.join(COLUMNS)} — `url` or "
            "`platform`+`handle`; `display_name` and `classification` required; `status` "
            "defaults to active (live statuses only); `owner_staff_id` and `unit` (by name) in "
            "the force; `objectives` `;`-separated codes; `is_anonymous` true/false. "
            "At most `REGISTRY_IMPORT_MAX_ROWS` data rows (default "
            f"{MAX_ROWS_DEFAULT:,}) and 20 MiB; more → 413."
        ),
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/accounts",
    status_code=201,
    response_model=ImportResult,
    responses={200: {"description": "Dry run: every row is valid; nothing was written."}}
    | errors(*AUTH_ERRORS, 404, 409, 415, 429)
    | too_many_rows("REGISTRY_IMPORT_MAX_ROWS", MAX_ROWS_DEFAULT)
    | {429: probes.RESPONSES[429]},
    openapi_extra=_BODY,
)
async def import_accounts(
    request: Request,
    session: Session,
    principal: Importer,
    dry_run: Annotated[bool, Query(description="Check every row, write nothing.")] = False,
    force: Annotated[
        str | None, Query(max_length=40, description="Target force (required for admin).")
    ] = None,
    key: IdempotencyKey = None,
) -> Any:
    """Register accounts from a CSV file: every row, or none and a 422 listing each bad row."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise service.UnsupportedMediaType("Send the file as text/csv.")
    force_id = await service.import_force_id(session, principal, force)
    max_rows = request.app.state.settings.import_max_rows
    file = await service.read_upload(request.stream(), max_rows)
    if dry_run:
        result = await service.import_accounts(session, principal, force_id, file, dry_run=True)
        return JSONResponse(result.model_dump(), status_code=200)

    async def create() -> tuple[ImportResult, str]:
        result = await service.import_accounts(session, principal, force_id, file, dry_run=False)
        return result, "/api/v1/accounts"

    print_ = hashlib.sha256(f"imports/accounts:{force_id}:{file.sha256}".encode()).hexdigest()
    return await idempotent(session, principal, key, print_, create)
