"""Bulk rationalisation: one decommission or transfer request for every account a filter
of `GET /accounts` matches (dormant, repost-heavy, a unit, a platform…), all or nothing.

Each request is opened by the workflow's own `open_request` (its details, fit and
one-open-request rules, its audit event), so a bulk request is exactly the sum of single
ones; each is then decided one by one, four eyes and all. Accounts that cannot take the
request are listed as skipped, not failed: one with a request already open, one under a
legal hold, one the kind does not fit (a transfer of an official account).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts
from app.auth.principal import Principal
from app.errors import AppError, ValidationFailed
from app.models import Account, Request
from app.workflows import effects, service
from app.workflows.bulk_schemas import BulkCreate
from app.workflows.states import OPEN

ALREADY_OPEN = "request-already-open"
LEGAL_HOLD = "legal-hold"
DOES_NOT_FIT = "invalid-request"
NO_OWNER = "no-owner"


class TooManyAccounts(ValidationFailed):
    code = "too-many-accounts"
    title = "Too many requests for one bulk call"


@dataclass
class BulkOutcome:
    dry_run: bool
    account_ids: list[uuid.UUID] = field(default_factory=list)
    request_ids: list[uuid.UUID] = field(default_factory=list)
    skipped: list[tuple[uuid.UUID, str]] = field(default_factory=list)


def _skip_reason(
    kind: str, account: Any, details: dict[str, Any], open_ids: set[Any]
) -> str | None:
    if account.id in open_ids:
        return ALREADY_OPEN
    if account.legal_hold:
        return LEGAL_HOLD
    if effects.fit_problem(kind, account) is not None:
        return DOES_NOT_FIT
    if kind == "transfer" and details.get("owner_id") is None and account.owner_id is None:
        return NO_OWNER
    return None


async def _open_account_ids(session: AsyncSession, select: Any, params: dict[str, Any]) -> set[Any]:
    ids = select.with_only_columns(Account.id).order_by(None).scalar_subquery()
    query = sa.select(Request.account_id).where(
        Request.status.in_(OPEN), Request.account_id.in_(ids)
    )
    return set((await session.execute(query, params)).scalars())


async def _locked(session: AsyncSession, ids: list[uuid.UUID]) -> list[Account]:
    """The accounts, row-locked in id order (two bulk calls over overlapping accounts wait
    for each other instead of deadlocking), read afresh after the lock."""
    found: list[Account] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = (
            sa.select(Account)
            .where(Account.id.in_(chunk))
            .order_by(Account.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found += list((await session.scalars(query)).all())
    return found


def _naming(account_id: uuid.UUID, exc: AppError) -> AppError:
    exc.detail = f"Account {account_id}: {exc.detail} Nothing was opened."
    exc.extra["account_id"] = str(account_id)
    return exc


async def bulk_open(
    session: AsyncSession, principal: Principal, body: BulkCreate, max_requests: int
) -> BulkOutcome:
    """Open (or, on a dry run, say what would open) one request per matching account."""
    details = body.details.model_dump(mode="json", exclude_none=True)
    filters = await accounts.filters_of(session, principal, body.filter)
    columns = (
        Account.id, Account.status, Account.classification, Account.legal_hold,
        Account.owner_id,
    )  # fmt: skip
    select, params = accounts.matching(principal, filters, *columns)
    matched = (await session.execute(select, params)).all()
    open_ids = await _open_account_ids(session, select, params)
    outcome = BulkOutcome(dry_run=body.dry_run)
    candidates: list[uuid.UUID] = []
    for row in matched:
        reason = _skip_reason(body.kind, row, details, open_ids)
        if reason is None:
            candidates.append(row.id)
        else:
            outcome.skipped.append((row.id, reason))
    if len(candidates) > max_requests:
        raise TooManyAccounts(
            f"The filter matches {len(candidates)} accounts that would each get a request; "
            f"one bulk call opens at most {max_requests}. Narrow the filter (by unit, "
            "platform or force) and call again.",
            would_open=len(candidates),
            max_requests=max_requests,
        )
    if body.dry_run:
        for account in await _accounts(session, candidates):
            try:
                await effects.check_details(session, principal, body.kind, account, details)
            except AppError as exc:
                raise _naming(account.id, exc) from None
        outcome.account_ids = candidates
        return outcome
    # Under the locks, the accounts are read again: a racing bulk call or a hold placed
    # since the first read has its way, and its accounts are skipped here.
    locked = await _locked(session, candidates)
    open_now = (
        await _open_account_ids(
            session, sa.select(Account.id).where(Account.id.in_(candidates)), {}
        )
        if candidates
        else set()
    )
    for account in locked:
        reason = _skip_reason(body.kind, account, details, open_now)
        if reason is not None:
            outcome.skipped.append((account.id, reason))
            continue
        try:
            request = await service.open_request(
                session, principal, kind=body.kind, account=account, reason=body.reason,
                details=details,
            )  # fmt: skip
        except AppError as exc:
            raise _naming(account.id, exc) from None
        outcome.account_ids.append(account.id)
        outcome.request_ids.append(request.id)
    outcome.skipped.sort(key=lambda s: str(s[0]))
    return outcome


async def _accounts(session: AsyncSession, ids: list[uuid.UUID]) -> list[Account]:
    found: list[Account] = []
    for start in range(0, len(ids), 500):
        query = sa.select(Account).where(Account.id.in_(ids[start : start + 500]))
        found += list((await session.scalars(query.order_by(Account.id))).all())
    return found
