"""Legal holds: PSD preserve an account for an investigation (SPEC §4).

A hold stays on record after release. `accounts.legal_hold` mirrors "some hold is
unreleased" and blocks the decommission of the account.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.accounts.errors import AccountNotFound
from app.audit import service as audit
from app.auth.principal import Principal
from app.errors import Conflict, NotFound, ValidationFailed
from app.holds import repository
from app.holds.schemas import HoldCreate
from app.models import LegalHold
from app.outbox import service as outbox
from app.pagination import cursor_instant, decode_cursor, page_of


class HoldNotFound(NotFound):
    code = "hold-not-found"


class HoldAlreadyReleased(Conflict):
    code = "hold-already-released"
    title = "Hold already released"


class LegalHoldActive(Conflict):
    code = "legal-hold"
    title = "Account under legal hold"


def ensure_not_held(legal_hold: bool) -> None:
    """Refuse to close an account that an investigation has preserved."""
    if legal_hold:
        raise LegalHoldActive(
            "The account is under a legal hold; it cannot be decommissioned until "
            "Professional Standards release it."
        )


async def _locked(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID
) -> tuple[uuid.UUID, str]:
    found = await repository.lock_account(session, principal, account_id)
    if found is None:
        raise AccountNotFound(f"No account {account_id}.")
    return found


async def place(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, body: HoldCreate
) -> tuple[LegalHold, str]:
    force_id, force_code = await _locked(session, principal, account_id)
    hold = LegalHold(
        force_id=force_id,
        account_id=account_id,
        case_reference=body.case_reference,
        reason=body.reason,
        placed_by=principal.sub,
        placed_at=clock.now(),
    )
    session.add(hold)
    await session.flush()
    before, after = await repository.sync_flag(session, account_id)
    # The case reference and reason stay out of the audit log, which comms teams can read.
    changes: dict[str, object] = {"hold_id": [None, str(hold.id)]}
    if before != after:
        changes["legal_hold"] = [before, after]
    audit.record(
        session, principal, "account.hold_placed", "account", account_id, changes,
        force_id=force_id,
    )  # fmt: skip
    outbox.emit(
        session, type="hold.placed", force_code=force_code,
        subject={"account_id": str(account_id), "hold_id": str(hold.id)},
    )  # fmt: skip
    return hold, force_code


async def release(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, hold_id: uuid.UUID
) -> tuple[LegalHold, str]:
    _, force_code = await _locked(session, principal, account_id)
    hold = await repository.get(session, account_id, hold_id)
    if hold is None:
        raise HoldNotFound(f"No hold {hold_id} on account {account_id}.")
    if not await repository.release(session, hold_id, principal.sub):
        raise HoldAlreadyReleased("This hold was already released.")
    await session.refresh(hold)
    before, after = await repository.sync_flag(session, account_id)
    changes: dict[str, object] = {"hold_id": [str(hold.id), None]}
    if before != after:
        changes["legal_hold"] = [before, after]
    audit.record(
        session, principal, "account.hold_released", "account", account_id, changes,
        force_id=hold.force_id,
    )  # fmt: skip
    outbox.emit(
        session, type="hold.released", force_code=force_code,
        subject={"account_id": str(account_id), "hold_id": str(hold.id)},
    )  # fmt: skip
    return hold, force_code


def decode_time_key(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A (timestamp, id) keyset cursor, as issued by `page_of(..., [at, id])`."""
    values = decode_cursor(cursor, 2)
    if values is None:
        return None
    try:
        return cursor_instant(values[0]), uuid.UUID(values[1] or "")
    except ValueError:
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from None


async def page(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> tuple[list[LegalHold], str | None, str]:
    found = await repository.visible_account(session, principal, account_id)
    if found is None:
        raise AccountNotFound(f"No account {account_id}.")
    rows = await repository.holds_of(session, account_id, decode_time_key(cursor), limit)
    items, next_cursor = page_of(rows, limit, lambda h: [h.placed_at.isoformat(), h.id])
    return items, next_cursor, found[2]
