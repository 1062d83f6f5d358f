"""Legal hold queries, and keeping `accounts.legal_hold` in step with them."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.db import rowcount
from app.models import Account, Force, LegalHold
from app.models.base import UTCDateTime


async def lock_account(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID
) -> tuple[uuid.UUID, str] | None:
    """The visible account's (force id, force code), row-locked on PostgreSQL until commit.

    Every hold change of one account takes this lock first, so placing and releasing
    holds (and approving a decommission) serialise per account.
    """
    query = (
        sa.select(Account.force_id, Force.code)
        .join(Force, Force.id == Account.force_id)
        .where(Account.id == account_id, force_filter(principal, Account.force_id))
        .with_for_update(of=Account)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def visible_account(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID, str] | None:
    query = (
        sa.select(Account.id, Account.force_id, Force.code)
        .join(Force, Force.id == Account.force_id)
        .where(Account.id == account_id, force_filter(principal, Account.force_id))
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1], row[2]) if row else None


async def holds_of(
    session: AsyncSession,
    account_id: uuid.UUID,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[LegalHold]:
    """Newest first by (placed_at, id), resumable after the last row of a page."""
    query = sa.select(LegalHold).where(LegalHold.account_id == account_id)
    if before is not None:
        query = query.where(
            sa.tuple_(LegalHold.placed_at, LegalHold.id)
            < sa.tuple_(sa.literal(before[0], UTCDateTime()), sa.literal(before[1], sa.Uuid()))
        )
    query = query.order_by(LegalHold.placed_at.desc(), LegalHold.id.desc()).limit(limit + 1)
    return list((await session.scalars(query)).all())


async def get(session: AsyncSession, account_id: uuid.UUID, hold_id: uuid.UUID) -> LegalHold | None:
    return await session.scalar(
        sa.select(LegalHold).where(LegalHold.id == hold_id, LegalHold.account_id == account_id)
    )


async def release(session: AsyncSession, hold_id: uuid.UUID, by: str) -> bool:
    """Release an unreleased hold; False when it was already released."""
    result = await session.execute(
        sa.update(LegalHold)
        .where(LegalHold.id == hold_id, LegalHold.released_at.is_(None))
        .values(released_at=clock.now(), released_by=by)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def sync_flag(session: AsyncSession, account_id: uuid.UUID) -> tuple[bool, bool]:
    """Set accounts.legal_hold = exists(unreleased hold), bumping the version on change.

    Returns (before, after).
    """
    held = (
        sa.select(LegalHold.id)
        .where(LegalHold.account_id == account_id, LegalHold.released_at.is_(None))
        .exists()
    )
    now_held = bool(await session.scalar(sa.select(held)))
    result = await session.execute(
        sa.update(Account)
        .where(Account.id == account_id, Account.legal_hold != now_held)
        .values(legal_hold=now_held, version=Account.version + 1, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    changed = rowcount(result) == 1
    return (not now_held if changed else now_held), now_held
