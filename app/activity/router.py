from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from app.activity import csvimport, service
from app.activity.schemas import ActivityImportResult, ActivityIn, ActivityRead
from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.config import Settings
from app.errors import ValidationFailed
from app.idempotency import IdempotencyKey, created, fingerprint, idempotent
from app.imports.stream import too_many_rows
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, page_of
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(tags=["activity"])

Collector = Annotated[Principal, Depends(require_roles("collector", "comms_admin", "admin"))]
Reader = Annotated[
    Principal, Depends(require_roles("collector", "comms_admin", "psd", "auditor", "admin"))
]


def _location(account_id: uuid.UUID, activity_id: uuid.UUID) -> str:
    return f"/api/v1/accounts/{account_id}/activity/{activity_id}"


@router.post(
    "/accounts/{account_id}/activity",
    status_code=201,
    response_model=ActivityRead,
    responses={
        **errors(*AUTH_ERRORS, 404),
        200: {"description": "The period existed; its figures were replaced."},
    },
)
async def record_activity(
    account_id: uuid.UUID,
    body: ActivityIn,
    session: Session,
    principal: Collector,
    key: IdempotencyKey = None,
) -> Response:
    """Record an account's figures for a period: 201 when new, 200 when replacing."""

    async def upsert() -> tuple[ActivityRead, str]:
        result = await service.record(session, principal, account_id, body)
        return result.activity, _location(account_id, result.activity.id)

    if key is None:
        result = await service.record(session, principal, account_id, body)
        status = 201 if result.created else 200
        return created(result.activity, _location(account_id, result.activity.id), status)
    status = 200 if await service.period_exists(session, principal, account_id, body) else 201
    print_ = fingerprint(f"accounts/{account_id}/activity", body)
    return await idempotent(session, principal, key, print_, upsert, status_code=status)


@router.get(
    "/accounts/{account_id}/activity",
    response_model=Page[ActivityRead],
    responses=errors(*AUTH_ERRORS, 404),
)
async def list_activity(
    account_id: uuid.UUID,
    session: Session,
    principal: Reader,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ActivityRead]:
    """An account's activity periods, newest first."""
    after = None
    raw = decode_cursor(cursor, 3)
    if raw is not None:
        try:
            after = (
                date.fromisoformat(raw[0] or ""),
                date.fromisoformat(raw[1] or ""),
                uuid.UUID(raw[2] or ""),
            )
        except ValueError:
            raise ValidationFailed(
                "The cursor is not one this service issued.",
                errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
            ) from None
    rows = await service.list_periods(session, principal, account_id, after, limit)
    items, next_cursor = page_of(rows, limit, lambda a: [a.period_start, a.period_end, a.id])
    return Page[ActivityRead](items=items, next_cursor=next_cursor)


@router.get(
    "/accounts/{account_id}/activity/{activity_id}",
    response_model=ActivityRead,
    responses=errors(*AUTH_ERRORS, 404),
)
async def get_activity(
    account_id: uuid.UUID, activity_id: uuid.UUID, session: Session, principal: Reader
) -> ActivityRead:
    """One activity period."""
    return await service.get_period(session, principal, account_id, activity_id)


MAX_ROWS_DEFAULT = Settings.model_fields["activity_import_max_rows"].default
CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "CSV, UTF-8, header on line 1, every column required: "
            f"{', '.join(csvimport.COLUMNS)}. At most `REGISTRY_ACTIVITY_IMPORT_MAX_ROWS` "
            f"data rows (default {MAX_ROWS_DEFAULT:,}) and 20 MiB; more → 413."
        ),
        "content": {
            "text/csv": {
                "schema": {"type": "string", "format": "binary"},
                "example": "platform,handle,period_start,period_end,original_posts,reposts,"
                "replies,followers,last_post_at\n"
                "x,staffspoldogs,2026-10-01,2026-10-31,40,12,25,18000,2026-10-31T17:02:00Z\n",
            }
        },
    }
}


@router.post(
    "/imports/activity",
    response_model=ActivityImportResult,
    status_code=201,
    responses={
        **errors(*AUTH_ERRORS, 415),
        **too_many_rows("REGISTRY_ACTIVITY_IMPORT_MAX_ROWS", MAX_ROWS_DEFAULT),
        200: {"description": "Imported; no period was new."},
    },
    openapi_extra=CSV_BODY,
    tags=["imports"],
)
async def import_activity(request: Request, session: Session, principal: Collector) -> Response:
    """Upsert activity figures from CSV keyed by platform and handle: every row or none."""
    result = await service.import_csv(
        session,
        principal,
        request.stream(),
        request.headers.get("content-type"),
        request.app.state.settings.activity_import_max_rows,
    )
    return JSONResponse(result.model_dump(), status_code=201 if result.created else 200)
