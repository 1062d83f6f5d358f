from __future__ import annotations

import uuid
from typing import Annotated, cast

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response

from app.accounts import service as accounts
from app.auth import redaction
from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.models import Request
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.schemas import AUTH_ERRORS, ForceCode, errors, filled
from app.workflows import service
from app.workflows.checklists import CHECKLISTS, item_of
from app.workflows.schemas import (
    READ,
    SUMMARY,
    ChecklistItem,
    ChecklistItemRead,
    ChecklistUpdate,
    DecisionRead,
    MoveBody,
    RequestCreate,
    RequestKind,
    RequestRead,
    RequestStatus,
    RequestSummary,
    TimelineEntry,
)

router = APIRouter(prefix="/requests", tags=["requests"])

Submitter = Annotated[Principal, Depends(require_roles("staff", "comms_admin", "admin"))]
Reader = Annotated[Principal, Depends(require_roles("staff", "comms_admin", "psd", "admin"))]
Decider = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match", max_length=200, description="Optional: refuse if the request changed."
    ),
]
ItemName = Annotated[ChecklistItem, Path(description="One of the request kind's items.")]
# No body, or an object; a JSON `null` body is refused like any other non-object.
Move = Annotated[MoveBody, Body()]
_NO_COMMENT = MoveBody()


class RequestSummaryPage(Page[RequestSummary]):
    """A page of requests, each of its kind."""


def _summary(request: Request, force: str, principal: Principal, shown: bool) -> RequestSummary:
    """A request as the caller may see it: where it may not see the operators of the
    request's account (`app.auth.redaction`), no one is named but the caller itself."""
    own = request.requested_by == principal.sub
    return SUMMARY.validate_python(dict(
        id=request.id,
        force=force,
        kind=request.kind,
        account_id=request.account_id,
        reason=request.reason,
        details=request.details if shown else redaction.without_people(request.details),
        status=request.status,
        requested_by=request.requested_by if shown or own else None,
        requested_by_name=request.requested_by_name if shown or own else None,
        requested_by_person_id=request.requested_by_person_id if shown or own else None,
        operators_redacted=not shown,
        version=request.version,
        created_at=request.created_at,
        updated_at=request.updated_at,
    ))  # fmt: skip


async def _read(
    session: Session,
    principal: Principal,
    view: service.RequestView,
    response: Response | None = None,
) -> RequestRead:
    request = view.request
    shown = request.account_id in await accounts.operators_shown(
        session, principal, {request.account_id}
    )

    def actor(sub: str | None) -> str | None:
        return sub if shown or sub == principal.sub else None

    decisions = [
        DecisionRead.model_validate(d).model_copy(
            update={"actor": actor(d.actor), "actor_name": d.actor_name if actor(d.actor) else None}
        )
        for d in view.decisions
    ]
    checklist = [
        ChecklistItemRead(
            item=cast(ChecklistItem, i.item),  # a stored item name; validated into the enum
            required=i.required,
            system=bool((found := item_of(request.kind, i.item)) and found.system),
            done=i.done,
            note=i.note,
            done_by=actor(i.done_by),
            done_at=i.done_at,
        )
        for i in sorted(view.checklist, key=lambda i: _order(request.kind, i.item))
    ]
    timeline = [
        TimelineEntry(at=request.created_at, event="submitted", actor=actor(request.requested_by))
    ]
    timeline += [
        TimelineEntry(at=d.at, event=d.action, actor=d.actor, comment=d.comment) for d in decisions
    ]
    timeline += [
        TimelineEntry(at=i.done_at, event=f"checklist:{i.item}", actor=i.done_by, comment=i.note)
        for i in checklist
        if i.done and i.done_at is not None
    ]
    timeline.sort(key=lambda e: e.at)
    if response is not None:
        response.headers["ETag"] = view.etag
    return READ.validate_python({
        **_summary(request, view.force, principal, shown).model_dump(),
        "decisions": decisions,
        "checklist": [item.model_dump() for item in checklist],
        "timeline": timeline,
    })  # fmt: skip


def _order(kind: str, item: str) -> int:
    names = [i.name for i in CHECKLISTS[kind]]
    return names.index(item) if item in names else len(names)


@router.post(
    "", status_code=201, response_model=RequestRead, responses=errors(*AUTH_ERRORS, 404, 409)
)
async def submit_request(
    body: RequestCreate, session: Session, principal: Submitter, key: IdempotencyKey = None
) -> Response:
    """Submit a registration, transfer, decommission or owner-change request for an account."""

    async def create() -> tuple[RequestRead, str]:
        view = await service.submit(session, principal, body)
        return await _read(session, principal, view), f"/api/v1/requests/{view.request.id}"

    return await idempotent(session, principal, key, fingerprint("requests", body), create)


@router.get("", response_model=RequestSummaryPage, responses=errors(*AUTH_ERRORS, 404))
async def list_requests(
    session: Session,
    principal: Reader,
    status: RequestStatus | None = None,
    kind: RequestKind | None = None,
    account_id: uuid.UUID | None = None,
    mine: Annotated[
        bool,
        Query(
            description="Only requests the caller submitted (the same person record where "
            "both are linked to one, else the same token subject)."
        ),
    ] = False,
    force: Annotated[ForceCode | None, Query(description="National callers: one force.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> RequestSummaryPage:
    """Requests in the caller's scope, newest first (staff: their own and their accounts')."""
    rows, next_cursor = await service.page(
        session, principal, force=force, status=status, kind=kind, account_id=account_id,
        mine=mine, cursor=cursor, limit=limit,
    )  # fmt: skip
    shown = await accounts.operators_shown(session, principal, {r.account_id for r, _ in rows})
    return RequestSummaryPage(
        items=[_summary(r, code, principal, r.account_id in shown) for r, code in rows],
        next_cursor=next_cursor,
    )


@router.get("/{request_id}", response_model=RequestRead, responses=errors(*AUTH_ERRORS, 404))
async def get_request(
    request_id: uuid.UUID, session: Session, principal: Reader, response: Response
) -> RequestRead:
    """One request with its decisions, checklist and timeline."""
    view = await service.get(session, principal, request_id)
    return await _read(session, principal, view, response)


MOVE_ERRORS = errors(*AUTH_ERRORS, 404, 409, 412)


@router.post("/{request_id}/approve", response_model=RequestRead, responses=MOVE_ERRORS)
async def approve_request(
    request_id: uuid.UUID,
    session: Session,
    principal: Decider,
    response: Response,
    body: Move = _NO_COMMENT,
    if_match: IfMatch = None,
) -> RequestRead:
    """Approve a submitted request (comms_admin, admin; never the requester)."""
    comment = body.comment
    view = await service.approve(session, principal, request_id, comment, if_match)
    return await _read(session, principal, view, response)


# The body is parsed as MoveBody so that a missing comment is the domain's 422
# `comment-required`; the document states the rule itself.
_COMMENT = filled()
REJECT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["comment"],
                    "properties": {
                        "comment": {"type": "string", "maxLength": 4000, "pattern": _COMMENT}
                    },
                }
            }
        },
    }
}


@router.post(
    "/{request_id}/reject",
    response_model=RequestRead,
    responses=MOVE_ERRORS,
    openapi_extra=REJECT_BODY,
)
async def reject_request(
    request_id: uuid.UUID,
    session: Session,
    principal: Decider,
    response: Response,
    body: Move = _NO_COMMENT,
    if_match: IfMatch = None,
) -> RequestRead:
    """Reject a submitted request, with a comment (comms_admin, admin; never the requester)."""
    comment = body.comment
    view = await service.reject(session, principal, request_id, comment, if_match)
    return await _read(session, principal, view, response)


@router.post("/{request_id}/withdraw", response_model=RequestRead, responses=MOVE_ERRORS)
async def withdraw_request(
    request_id: uuid.UUID,
    session: Session,
    principal: Submitter,
    response: Response,
    body: Move = _NO_COMMENT,
    if_match: IfMatch = None,
) -> RequestRead:
    """Withdraw a submitted request (the requester only)."""
    comment = body.comment
    view = await service.withdraw(session, principal, request_id, comment, if_match)
    return await _read(session, principal, view, response)


@router.post("/{request_id}/cancel", response_model=RequestRead, responses=MOVE_ERRORS)
async def cancel_request(
    request_id: uuid.UUID,
    session: Session,
    principal: Decider,
    response: Response,
    body: Move = _NO_COMMENT,
    if_match: IfMatch = None,
) -> RequestRead:
    """Cancel an approved request; an approved decommission restores the account's status."""
    comment = body.comment
    view = await service.cancel(session, principal, request_id, comment, if_match)
    return await _read(session, principal, view, response)


@router.post("/{request_id}/complete", response_model=RequestRead, responses=MOVE_ERRORS)
async def complete_request(
    request_id: uuid.UUID,
    session: Session,
    principal: Decider,
    response: Response,
    body: Move = _NO_COMMENT,
    if_match: IfMatch = None,
) -> RequestRead:
    """Complete an approved request once its checklist is done, applying its effect."""
    comment = body.comment
    view = await service.complete(session, principal, request_id, comment, if_match)
    return await _read(session, principal, view, response)


@router.post(
    "/{request_id}/checklist/{item}",
    response_model=RequestRead,
    responses=errors(*AUTH_ERRORS, 404, 409),
)
async def set_checklist_item(
    request_id: uuid.UUID,
    item: ItemName,
    body: ChecklistUpdate,
    session: Session,
    principal: Decider,
    response: Response,
) -> RequestRead:
    """Tick (or untick) a checklist item of an approved request (comms_admin, admin)."""
    view = await service.set_checklist_item(session, principal, request_id, item.value, body)
    return await _read(session, principal, view, response)
