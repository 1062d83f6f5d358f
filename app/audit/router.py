from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.accounts import service as accounts
from app.audit import repository
from app.audit.schemas import AuditEventRead, VerifyRead
from app.audit.service import verify_chain
from app.auth import redaction
from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.errors import ValidationFailed
from app.models import AuditEvent
from app.pagination import Cursor, Limit, Page, decode_cursor, page_of
from app.schemas import AUTH_ERRORS, Instant, errors

router = APIRouter(prefix="/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require_roles("psd", "comms_admin", "admin"))]
Text = Annotated[str | None, Query(max_length=255)]


def _account_id(event: AuditEvent) -> uuid.UUID | None:
    if event.entity_type != "account":
        return None
    try:
        return uuid.UUID(event.entity_id)
    except ValueError:
        return None


def _redacted(event: AuditEvent, principal: Principal, shown: set[uuid.UUID]) -> AuditEventRead:
    """The event as the caller may see it (`app.auth.redaction`): an account's events as
    its operators show to the caller; any other event as an anonymous account of its force
    would (so an operator never surfaces through a request, sign-off or person event)."""
    read = AuditEventRead.model_validate(event)
    account_id = _account_id(event)
    if account_id is not None:
        visible = account_id in shown
    else:
        visible = redaction.sees_operators(principal, event.force_id, True, False)
    if visible:
        return read
    return read.model_copy(
        update={
            "actor_sub": read.actor_sub if read.actor_sub == principal.sub else None,
            "entity_id": None if event.entity_type == "person" else read.entity_id,
            "changes": redaction.without_people(read.changes),
        }
    )


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
    ids = {i for i in map(_account_id, items) if i is not None}
    shown = await accounts.operators_shown(session, principal, ids)
    reads = [_redacted(e, principal, shown) for e in items]
    if actor is not None or entity_id is not None:
        # A filter on a person must not find them where they would be redacted.
        reads = [r for r in reads if r.actor_sub is not None or actor is None]
        reads = [r for r in reads if r.entity_id is not None or entity_id is None]
    return Page[AuditEventRead](items=reads, next_cursor=next_cursor)


@router.get("/verify", response_model=VerifyRead, responses=errors(*AUTH_ERRORS))
async def verify(session: Session, principal: Auditor) -> VerifyRead:
    """Recompute the whole hash chain and name the first broken event, if any."""
    result = await verify_chain(session)
    return VerifyRead.model_validate(result)
