from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.audit import repository
from app.audit.schemas import AuditEventRead, VerifyRead
from app.audit.service import verify_chain
from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.errors import ValidationFailed
from app.pagination import Cursor, Limit, Page, decode_cursor, page_of
from app.schemas import AUTH_ERRORS, Instant, errors

router = APIRouter(prefix="/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require_roles("psd", "comms_admin", "admin"))]
Text = Annotated[str | None, Query(max_length=255)]


@router.get("", response_model=Page[AuditEventRead], responses=errors(*AUTH_ERRORS))
async def list_events(
    session: Session,
    principal: Auditor,
    entity_type: Text = None,
    entity_id: Text = None,
    actor: Text = None,
    action: Annotated[
        str | None, Query(max_length=255, description="e.g. `account.duplicate_refused`.")
    ] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AuditEventRead]:
    """A page of audit events, oldest first (force-scoped callers see their force's)."""
    after = decode_cursor(cursor, 1)
    after_id = None
    if after:
        # An event id: ASCII digits that fit the BIGINT column (str.isdigit() also
        # passes "²", which int() refuses).
        if not re.fullmatch(r"[0-9]{1,18}", after[0] or ""):
            raise ValidationFailed(
                "The cursor is not one this service issued.",
                errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
            )
        after_id = int(after[0] or 0)
    rows = await repository.page(
        session,
        principal,
        entity_type=entity_type,
        entity_id=entity_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
        after_id=after_id,
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit, lambda e: [e.id])
    return Page[AuditEventRead](
        items=[AuditEventRead.model_validate(e) for e in items], next_cursor=next_cursor
    )


@router.get("/verify", response_model=VerifyRead, responses=errors(*AUTH_ERRORS))
async def verify(session: Session, principal: Auditor) -> VerifyRead:
    """Recompute the whole hash chain and name the first broken event, if any."""
    result = await verify_chain(session)
    return VerifyRead.model_validate(result)
