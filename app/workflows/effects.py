"""What each request kind does to its account when it is submitted, approved, rejected,
cancelled or completed — in the transaction of the move, each change audited."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit import service as audit
from app.auth.principal import Principal
from app.errors import Conflict, NotFound, ValidationFailed
from app.holds.service import ensure_not_held
from app.models import Account, ChecklistItem, Person, Request
from app.models.enums import RELEASED_STATUSES
from app.outbox import service as outbox
from app.workflows import ports, repository
from app.workflows.checklists import OWNER_SIGNED_GUIDELINES

SYSTEM = "system"


class InvalidRequest(Conflict):
    code = "invalid-request"
    title = "Request does not fit the account"


class AlreadyOwner(Conflict):
    code = "already-owner"
    title = "Already the owner"


class GuidelinesNotSigned(Conflict):
    code = "guidelines-not-signed"
    title = "Guidelines not signed"


# --- Which kinds fit which accounts ---------------------------------------------------


def fit_problem(kind: str, account: Account) -> str | None:
    """Why a request of `kind` cannot apply to the account as it is now, or None."""
    status, classification = account.status, account.classification
    if kind == "registration" and status != "pending_approval":
        return "Only an account pending approval can be registered."
    if kind == "transfer" and (
        classification != "unofficial" or status not in ("active", "suspended")
    ):
        return "Only an active or suspended unofficial account can be transferred."
    if kind == "decommission" and status not in ("active", "suspended"):
        return "Only an active or suspended account can be decommissioned."
    if kind == "owner_change" and status in RELEASED_STATUSES:
        return "The owner of a closed account cannot change."
    return None


def ensure_fits(kind: str, account: Account) -> None:
    problem = fit_problem(kind, account)
    if problem is not None:
        raise InvalidRequest(
            f"{problem} This account is {account.classification}, {account.status}."
        )


def _bad(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed(
        f"details.{field}: {msg}", errors=[{"loc": ["body", "details", field], "msg": msg}]
    )


async def _active_person(
    session: AsyncSession, account: Account, person_id: uuid.UUID, field: str
) -> Person:
    # Another force's person is as unknown as a missing one: no existence is revealed.
    person = await repository.person_in_force(session, account.force_id, person_id)
    if person is None:
        raise _bad(field, f"no person {person_id} in the account's force")
    if person.status != "active":
        raise _bad(field, "the person has left the force")
    return person


async def _compliant_owner(
    session: AsyncSession, account: Account, person_id: uuid.UUID | None, field: str
) -> Person:
    if person_id is None:
        raise _bad(field, "the account has no owner; name one")
    person = await _active_person(session, account, person_id, field)
    if not await ports.has_signed_current(session, person.id, account.force_id):
        raise GuidelinesNotSigned(
            f"{person.name} has not signed the current guidelines, so cannot own the account."
        )
    return person


# --- Validation of details against the registry, at submission ------------------------


async def check_details(
    session: AsyncSession, principal: Principal, kind: str, account: Account, d: dict[str, Any]
) -> None:
    if kind == "transfer":
        owner_id = d.get("owner_id") or account.owner_id
        if owner_id is None:
            raise _bad("owner_id", "the account has no owner; name one")
        await _active_person(session, account, uuid.UUID(str(owner_id)), "owner_id")
        if d.get("unit_id") is not None:
            unit_id = uuid.UUID(d["unit_id"])
            if await repository.unit_in_force(session, account.force_id, unit_id) is None:
                raise _bad("unit_id", f"no unit {unit_id} in the account's force")
        if d.get("objectives") is not None:
            await _objective_ids(session, account, d["objectives"])
    elif kind == "owner_change":
        new_owner = uuid.UUID(d["new_owner_id"])
        await _active_person(session, account, new_owner, "new_owner_id")
        if new_owner == account.owner_id:
            raise AlreadyOwner("The person already owns the account.")
    elif kind == "decommission" and d.get("redirect_account_id") is not None:
        target_id = uuid.UUID(d["redirect_account_id"])
        try:
            target: Account | None = await ports.get_visible(session, principal, target_id)
        except NotFound:
            target = None
        if (
            target is None
            or target.force_id != account.force_id
            or target.id == account.id
            or target.status in RELEASED_STATUSES
        ):
            raise _bad("redirect_account_id", "must be another live account of the same force")


async def _objective_ids(
    session: AsyncSession, account: Account, codes: list[str]
) -> list[uuid.UUID]:
    found = {
        o.code: o for o in await repository.objectives_by_code(session, account.force_id, codes)
    }
    unknown = [c for c in codes if c not in found or not found[c].active]
    if unknown:
        raise _bad("objectives", f"unknown or inactive objectives: {', '.join(sorted(unknown))}")
    return [found[c].id for c in dict.fromkeys(codes)]


# --- Effects of moves ----------------------------------------------------------------


def _snapshot(account: Account) -> dict[str, Any]:
    return {
        "status": account.status,
        "classification": account.classification,
        "owner_id": account.owner_id,
        "unit_id": account.unit_id,
        "review_due_on": account.review_due_on,
    }


def _audit_account(
    session: AsyncSession,
    principal: Principal,
    action: str,
    account: Account,
    before: dict[str, Any],
    request: Request,
    extra: dict[str, Any] | None = None,
) -> None:
    changes: dict[str, Any] = audit.diff(before, _snapshot(account)) | (extra or {})
    changes["request_id"] = [None, str(request.id)]
    audit.record(
        session, principal, action, "account", account.id, changes, force_id=account.force_id
    )


async def _review_due(session: AsyncSession, account: Account) -> Any:
    days = await repository.review_interval_days(session, account.force_id)
    return clock.today() + timedelta(days=days)


async def on_approve(
    session: AsyncSession,
    principal: Principal,
    request: Request,
    checklist: dict[str, ChecklistItem],
) -> None:
    account = await repository.lock_account(session, request.account_id)
    ensure_fits(request.kind, account)
    before = _snapshot(account)
    d = request.details
    if request.kind == "registration":
        account.status = "active"
        account.review_due_on = account.review_due_on or await _review_due(session, account)
        await session.flush()
        _audit_account(session, principal, "account.registered", account, before, request)
        await outbox.emit_in_force(
            session, account.force_id, type="account.registered",
            subject={"account_id": account.id, "request_id": request.id},
            data={"platform": account.platform, "classification": account.classification,
                  "status": account.status, "via": "request"},
        )  # fmt: skip
    elif request.kind == "transfer":
        owner_id = d.get("owner_id") or account.owner_id
        await _compliant_owner(session, account, _uuid(owner_id), "owner_id")
        item = checklist[OWNER_SIGNED_GUIDELINES]
        item.done, item.done_by, item.done_at = True, SYSTEM, clock.now()
        item.note = "Owner's sign-off of the current guidelines checked at approval."
        await session.flush()
    elif request.kind == "decommission":
        ensure_not_held(account.legal_hold)
        # Kept so that cancelling the approved decommission restores the account.
        request.details = {**d, "previous_status": account.status}
        account.status = "decommissioning"
        await session.flush()
        _audit_account(session, principal, "account.decommissioning", account, before, request)
    elif request.kind == "owner_change":
        new_owner = await _compliant_owner(
            session, account, _uuid(d["new_owner_id"]), "new_owner_id"
        )
        # The accounts domain closes and opens the owner intervals and audits the change.
        await ports.change_owner(session, principal, account, new_owner.id, clock.now())


async def on_reject(session: AsyncSession, principal: Principal, request: Request) -> None:
    if request.kind != "registration":
        return
    account = await repository.lock_account(session, request.account_id)
    if account.status != "pending_approval":
        return
    before = _snapshot(account)
    account.status = "rejected"
    await session.flush()
    _audit_account(session, principal, "account.registration_rejected", account, before, request)


async def on_cancel(session: AsyncSession, principal: Principal, request: Request) -> None:
    if request.kind != "decommission":
        return
    account = await repository.lock_account(session, request.account_id)
    if account.status != "decommissioning":
        return
    before = _snapshot(account)
    account.status = request.details.get("previous_status", "active")
    await session.flush()
    _audit_account(session, principal, "account.decommission_cancelled", account, before, request)


async def on_complete(session: AsyncSession, principal: Principal, request: Request) -> None:
    if request.kind in ("registration", "owner_change"):
        return  # applied at approval
    account = await repository.lock_account(session, request.account_id)
    before = _snapshot(account)
    now = clock.now()
    if request.kind == "decommission":
        ensure_not_held(account.legal_hold)
        if account.status != "decommissioning":
            raise InvalidRequest(f"The account is {account.status}, not decommissioning.")
        account.status = "decommissioned"
        await ports.end_custodianships(session, principal, account, now)
        await session.flush()
        _audit_account(session, principal, "account.decommissioned", account, before, request)
        await outbox.emit_in_force(
            session, account.force_id, type="account.decommissioned",
            subject={"account_id": account.id, "request_id": request.id},
            data={"status": account.status},
        )  # fmt: skip
        return
    # transfer: into official oversight, with its unofficial past kept in its history.
    ensure_fits("transfer", account)
    d = request.details
    owner = await _compliant_owner(
        session, account, _uuid(d.get("owner_id")) or account.owner_id, "owner_id"
    )
    extra: dict[str, Any] = {}
    if d.get("objectives") is not None:
        ids = await _objective_ids(session, account, d["objectives"])
        old = await ports.objective_codes(session, account.id)
        await ports.replace_objectives(session, account.id, ids)
        new = sorted(set(d["objectives"]))
        if old != new:
            extra["objectives"] = [old, new]
    if d.get("unit_id") is not None:
        account.unit_id = uuid.UUID(d["unit_id"])
    await ports.change_owner(session, principal, account, owner.id, now)
    account.classification = "official"
    account.status = "active"
    account.review_due_on = await _review_due(session, account)
    await session.flush()
    _audit_account(session, principal, "account.transferred", account, before, request, extra)
    await outbox.emit_in_force(
        session, account.force_id, type="account.transferred",
        subject={"account_id": account.id, "request_id": request.id},
        data={"classification": account.classification, "status": account.status},
    )  # fmt: skip


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))
