"""The request workflow's rules (SPEC §3, §6): who may submit and decide, one open
request per account, four eyes, and one function per move of the state machine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit import service as audit
from app.auth.deps import person_id_of, require_person, scope_force_id
from app.auth.principal import Principal
from app.concurrency import check_if_match, etag
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.holds.service import decode_time_key
from app.models import Account, ChecklistItem, Request, RequestDecision
from app.outbox import service as outbox
from app.pagination import page_of
from app.workflows import effects, ports, repository
from app.workflows.checklists import CHECKLISTS, item_of
from app.workflows.repository import RequestFilter
from app.workflows.schemas import ChecklistUpdate, RequestCreate, parse_details
from app.workflows.states import APPROVED, COMPLETE_ON_APPROVAL, MOVES, Move

# Re-exported so callers name every workflow error from one module.
InvalidRequest = effects.InvalidRequest
GuidelinesNotSigned = effects.GuidelinesNotSigned


class RequestNotFound(NotFound):
    code = "request-not-found"


class ChecklistItemNotFound(NotFound):
    code = "checklist-item-not-found"


class InvalidTransition(Conflict):
    code = "invalid-transition"
    title = "Invalid transition"


class RequestAlreadyOpen(Conflict):
    code = "request-already-open"
    title = "A request is already open for this account"


class ChecklistIncomplete(Conflict):
    code = "checklist-incomplete"
    title = "Checklist incomplete"


class SystemChecklistItem(Conflict):
    code = "system-checklist-item"
    title = "Checklist item is ticked by the system"


class RequestNotApproved(Conflict):
    code = "request-not-approved"
    title = "Checklist open only while the request is approved"


class FourEyes(Forbidden):
    code = "four-eyes"
    title = "Four eyes"


class NotOperator(Forbidden):
    code = "not-operator"
    title = "Not an operator of the account"


class NotRequester(Forbidden):
    code = "not-requester"
    title = "Not the requester"


class CommentRequired(ValidationFailed):
    code = "comment-required"


@dataclass
class RequestView:
    request: Request
    force: str
    decisions: list[RequestDecision]
    checklist: list[ChecklistItem]

    @property
    def etag(self) -> str:
        return etag(self.request.version)


# --- Reading -------------------------------------------------------------------------


async def _visible(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID
) -> tuple[Request, str]:
    found = await repository.get(session, principal, request_id)
    if found is None:
        raise RequestNotFound(f"No request {request_id}.")
    return found


async def checklist(session: AsyncSession, request: Request) -> list[ChecklistItem]:
    """The request's checklist as its kind defines it: every item of the kind, with what
    was recorded against it (an item never recorded is not done). The kind's definition
    decides what completion needs, never which rows happen to be stored."""
    stored = {i.item: i for i in await repository.checklist_of(session, request.id)}
    return [
        stored.get(item.name)
        or ChecklistItem(
            request_id=request.id,
            item=item.name,
            required=item.required(request.details),
            done=False,
        )
        for item in CHECKLISTS[request.kind]
    ]


async def _view(session: AsyncSession, request: Request, force: str) -> RequestView:
    return RequestView(
        request=request,
        force=force,
        decisions=await repository.decisions_of(session, request.id),
        checklist=await checklist(session, request),
    )


async def get(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> RequestView:
    request, force = await _visible(session, principal, request_id)
    return await _view(session, request, force)


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    force: str | None,
    status: str | None,
    kind: str | None,
    account_id: uuid.UUID | None,
    mine: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Request, str]], str | None]:
    where = RequestFilter(
        force_id=await scope_force_id(session, principal, force),
        status=status,
        kind=kind,
        account_id=account_id,
        mine=mine,
    )
    rows = await repository.page(session, principal, where, decode_time_key(cursor), limit)
    return page_of(rows, limit, lambda row: [row[0].created_at.isoformat(), row[0].id])


# --- Submitting ------------------------------------------------------------------------


async def submit(session: AsyncSession, principal: Principal, body: RequestCreate) -> RequestView:
    """A request from the API: staff only for accounts they run, comms_admin/admin any."""
    account = await ports.get_visible(session, principal, body.account_id)
    if not principal.has("comms_admin", "admin"):
        await require_person(session, principal)
        if not await repository.operates(session, principal, account.id):
            raise NotOperator("Staff may submit requests only for accounts they operate.")
    request = await open_request(
        session, principal, kind=body.kind, account=account, reason=body.reason,
        details=body.details.model_dump(mode="json", exclude_unset=True),
    )  # fmt: skip
    return await get(session, principal, request.id)


async def open_request(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: str,
    account: Account,
    reason: str,
    details: dict[str, Any],
) -> Request:
    """Open a request on `account` for `principal`, whose right to ask was checked already.

    Used by `submit` and by other domains (a staff declaration opens a registration, an
    attestation that the account is no longer needed opens a decommission).
    """
    parsed = parse_details(kind, details).model_dump(mode="json", exclude_none=True)
    effects.ensure_fits(kind, account)
    await effects.check_details(session, principal, kind, account, parsed)
    if await repository.open_request_id(session, account.id) is not None:
        raise _already_open(account.id)
    request = Request(
        force_id=account.force_id,
        kind=kind,
        account_id=account.id,
        reason=reason,
        details=parsed,
        status="submitted",
        requested_by=principal.sub,
        requested_by_name=principal.name,
        requested_by_person_id=await person_id_of(session, principal),
    )
    try:
        # A racing submission that got past the check above meets the partial unique
        # index here (on PostgreSQL; SQLite writers are serialised).
        async with session.begin_nested():
            session.add(request)
            await session.flush()
    except IntegrityError as exc:
        if "uq_requests_open_account" in str(exc.orig) or "requests.account_id" in str(exc.orig):
            raise _already_open(account.id) from None
        raise
    for item in CHECKLISTS[kind]:
        session.add(
            ChecklistItem(request_id=request.id, item=item.name, required=item.required(parsed))
        )
    await session.flush()
    audit.record(
        session, principal, "request.submitted", "request", request.id,
        {"kind": [None, kind], "account_id": [None, str(account.id)], "status": [None, "submitted"],
         "details": [None, parsed]},
        force_id=account.force_id,
    )  # fmt: skip
    await outbox.emit_in_force(
        session, account.force_id, type="request.submitted",
        subject={"request_id": request.id, "account_id": account.id},
        data={"kind": kind, "status": "submitted"},
    )  # fmt: skip
    return request


async def open_for_attestation(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, note: str | None
) -> Request:
    """The decommission request of an owner's "no longer needed" review.

    The attestation service has checked that the caller owns the account. An open
    decommission is reused (the owner said the same thing twice); any other open request
    must be decided first (409 `request-already-open`).
    """
    open_id = await repository.open_request_id(session, account_id)
    if open_id is not None:
        existing = await session.get(Request, open_id)
        if existing is not None and existing.kind == "decommission":
            return existing
        raise _already_open(account_id)
    account = await repository.lock_account(session, account_id)
    reason = "The owner's periodic review says the account is no longer needed."
    if note:
        reason = f"{reason} Note: {note}"[:4000]
    return await open_request(
        session, principal, kind="decommission", account=account, reason=reason,
        details={"reason_code": "other"},
    )  # fmt: skip


def _already_open(account_id: uuid.UUID) -> RequestAlreadyOpen:
    return RequestAlreadyOpen(
        f"Account {account_id} already has an open request; it must be decided, withdrawn "
        "or cancelled first."
    )


# --- Moves -----------------------------------------------------------------------------


async def _claim(
    session: AsyncSession, principal: Principal, request: Request, move: Move, comment: str | None
) -> None:
    """Make the move if the request is still where the mover saw it; else 409."""
    if request.status != move.source or not await repository.claim(
        session, request, move.source, move.target
    ):
        raise InvalidTransition(
            f"A request that is {request.status} cannot be {move.target} "
            f"(only a {move.source} request can)."
        )
    session.add(
        RequestDecision(
            request_id=request.id,
            action=move.action,
            from_status=move.source,
            to_status=move.target,
            actor=principal.sub,
            actor_name=principal.name,
            comment=comment,
            at=clock.now(),
        )
    )
    await session.flush()
    changes: dict[str, Any] = {"status": [move.source, move.target]}
    if comment:
        changes["comment"] = [None, comment]
    audit.record(
        session, principal, f"request.{move.target}", "request", request.id, changes,
        force_id=request.force_id,
    )  # fmt: skip
    await outbox.emit_in_force(
        session, request.force_id, type=f"request.{move.target}",
        subject={"request_id": request.id, "account_id": request.account_id},
        data={"kind": request.kind, "status": move.target},
    )  # fmt: skip


async def _prepare(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    action: str,
    comment: str | None,
    if_match: str | None,
) -> tuple[Request, str, Move]:
    move = MOVES[action]
    request, force = await _visible(session, principal, request_id)
    if not principal.has(*move.roles):
        raise Forbidden(f"Your role may not {action} requests.")
    # The requester is a person where both sides are linked to one (repository rule).
    requester = (action == "withdraw" or move.four_eyes) and await repository.is_requester(
        session, principal, request.id
    )
    if action == "withdraw" and not requester:
        raise NotRequester("Only the requester may withdraw a request.")
    if move.four_eyes and requester:
        raise FourEyes(f"You submitted this request, so someone else must {action} it.")
    if move.comment_required and not comment:
        raise CommentRequired(
            f"A comment is required to {action} a request.",
            errors=[{"loc": ["body", "comment"], "msg": "required"}],
        )
    if if_match is not None and if_match.strip():  # a blank If-Match is no condition
        check_if_match(if_match, request.version)
    return request, force, move


async def approve(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    comment: str | None = None,
    if_match: str | None = None,
) -> RequestView:
    request, force, move = await _prepare(
        session, principal, request_id, "approve", comment, if_match
    )
    await _claim(session, principal, request, move, comment)
    items = {i.item: i for i in await _stored_checklist(session, request)}
    await effects.on_approve(session, principal, request, items)
    if request.kind in COMPLETE_ON_APPROVAL:
        done = MOVES["complete"]
        await _claim(session, principal, request, done, "Applied on approval; nothing left to do.")
    return await _view(session, request, force)


async def reject(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    comment: str | None = None,
    if_match: str | None = None,
) -> RequestView:
    request, force, move = await _prepare(
        session, principal, request_id, "reject", comment, if_match
    )
    await _claim(session, principal, request, move, comment)
    await effects.on_reject(session, principal, request)
    return await _view(session, request, force)


async def withdraw(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    comment: str | None = None,
    if_match: str | None = None,
) -> RequestView:
    request, force, move = await _prepare(
        session, principal, request_id, "withdraw", comment, if_match
    )
    await _claim(session, principal, request, move, comment)
    return await _view(session, request, force)


async def cancel(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    comment: str | None = None,
    if_match: str | None = None,
) -> RequestView:
    request, force, move = await _prepare(
        session, principal, request_id, "cancel", comment, if_match
    )
    await _claim(session, principal, request, move, comment)
    await effects.on_cancel(session, principal, request)
    return await _view(session, request, force)


async def complete(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    comment: str | None = None,
    if_match: str | None = None,
) -> RequestView:
    request, force, move = await _prepare(
        session, principal, request_id, "complete", comment, if_match
    )
    # Claimed first: the row lock then keeps checklist edits out until this commits.
    await _claim(session, principal, request, move, comment)
    # The kind's definition says what is required (for the request's details); a stored
    # row only says what was done.
    done = {i.item for i in await repository.checklist_of(session, request.id) if i.done}
    missing = [
        item.name
        for item in CHECKLISTS[request.kind]
        if item.required(request.details) and item.name not in done
    ]
    if missing:
        raise ChecklistIncomplete(
            f"Tick these checklist items first: {', '.join(sorted(missing))}.",
            missing=sorted(missing),
        )
    await effects.on_complete(session, principal, request)
    return await _view(session, request, force)


async def _stored_checklist(session: AsyncSession, request: Request) -> list[ChecklistItem]:
    """The kind's checklist with a stored row for every item (rows a request lacks are
    added, not done), for moves that record against it."""
    items = await checklist(session, request)
    for item in items:
        if item not in session:
            session.add(item)
    await session.flush()
    return items


MOVE_FUNCTIONS = {
    "approve": approve,
    "reject": reject,
    "withdraw": withdraw,
    "cancel": cancel,
    "complete": complete,
}
assert set(MOVE_FUNCTIONS) == set(MOVES)


# --- Checklist -------------------------------------------------------------------------


async def set_checklist_item(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    name: str,
    body: ChecklistUpdate,
) -> RequestView:
    request, force = await _visible(session, principal, request_id)
    definition = item_of(request.kind, name)
    if definition is None:
        raise ChecklistItemNotFound(f"A {request.kind} request has no checklist item {name!r}.")
    if definition.system:
        raise SystemChecklistItem(f"{name!r} is ticked by the registry itself, not by hand.")
    if request.status != APPROVED or not await repository.claim(
        session, request, APPROVED, APPROVED
    ):
        raise RequestNotApproved(
            f"The checklist can be worked only while the request is approved; it is "
            f"{request.status}."
        )
    item = await repository.checklist_item(session, request.id, name)
    if item is None:  # a request recorded without its rows: the definition stands in
        item = next(i for i in await _stored_checklist(session, request) if i.item == name)
    before = item.done
    item.done = body.done
    item.note = body.note
    item.done_by = principal.sub if body.done else None
    item.done_at = clock.now() if body.done else None
    await session.flush()
    audit.record(
        session, principal, "request.checklist_updated", "request", request.id,
        {f"checklist.{name}": [before, body.done]}, force_id=request.force_id,
    )  # fmt: skip
    if body.done and not before:
        await outbox.emit_in_force(
            session, request.force_id, type="request.checklist_ticked",
            subject={"request_id": request.id, "account_id": request.account_id},
            data={"kind": request.kind, "item": name},
        )  # fmt: skip
    return await _view(session, request, force)
