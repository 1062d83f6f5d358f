from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.models import Account, ActivityPeriod
from app.models.base import UTCDateTime
from app.models.enums import RELEASED_STATUSES

ACTIVITY = ActivityPeriod.__table__
ACCOUNTS = Account.__table__
KEY_COLUMNS = ("account_id", "period_start", "period_end")
FIGURES = ("original_posts", "reposts", "replies", "followers", "last_post_at")
CHUNK = 500


def _insert(session: AsyncSession) -> Any:
    """INSERT with ON CONFLICT support for the dialect in use."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(ACTIVITY)
    return sqlite.insert(ACTIVITY)


async def account_in_scope(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID
) -> Any:
    return (
        await session.execute(
            sa.select(ACCOUNTS.c.id, ACCOUNTS.c.force_id).where(
                ACCOUNTS.c.id == account_id, force_filter(principal, ACCOUNTS.c.force_id)
            )
        )
    ).one_or_none()


async def find_period(
    session: AsyncSession, account_id: uuid.UUID, start: date, end: date
) -> ActivityPeriod | None:
    return await session.scalar(
        sa.select(ActivityPeriod)
        .where(
            ActivityPeriod.account_id == account_id,
            ActivityPeriod.period_start == start,
            ActivityPeriod.period_end == end,
        )
        .with_for_update()
    )


async def insert_if_absent(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert the period unless one exists; the new id, or None when it already existed."""
    stmt = (
        _insert(session)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))
        .returning(ACTIVITY.c.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    stmt = _insert(session)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={name: stmt.excluded[name] for name in (*FIGURES, "updated_at")},
    )
    for start in range(0, len(rows), CHUNK):
        await session.execute(stmt, rows[start : start + CHUNK])


async def existing_keys(
    session: AsyncSession, keys: list[tuple[uuid.UUID, date, date]]
) -> set[tuple[uuid.UUID, date, date]]:
    found: set[tuple[uuid.UUID, date, date]] = set()
    for start in range(0, len(keys), CHUNK):
        rows = await session.execute(
            sa.select(ACTIVITY.c.account_id, ACTIVITY.c.period_start, ACTIVITY.c.period_end).where(
                sa.tuple_(
                    ACTIVITY.c.account_id, ACTIVITY.c.period_start, ACTIVITY.c.period_end
                ).in_(keys[start : start + CHUNK])
            )
        )
        found.update((r.account_id, r.period_start, r.period_end) for r in rows)
    return found


async def raise_last_post_at(
    session: AsyncSession, latest: Iterable[tuple[uuid.UUID, datetime]]
) -> None:
    """Move accounts' last_post_at forward (never back), bumping their version."""
    params = [{"b_id": account_id, "b_last": at} for account_id, at in latest]
    if not params:
        return
    last = sa.bindparam("b_last", type_=UTCDateTime())
    stmt = (
        sa.update(ACCOUNTS)
        .where(
            ACCOUNTS.c.id == sa.bindparam("b_id", type_=sa.Uuid()),
            sa.or_(ACCOUNTS.c.last_post_at.is_(None), ACCOUNTS.c.last_post_at < last),
        )
        .values(last_post_at=last, version=ACCOUNTS.c.version + 1)
    )
    for start in range(0, len(params), CHUNK):
        await session.execute(stmt, params[start : start + CHUNK])


async def accounts_by_handle(
    session: AsyncSession, principal: Principal, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """The account each (platform, handle) names in scope: the live record, else the newest."""
    by_platform: dict[str, list[str]] = {}
    for platform, handle in sorted(pairs):
        by_platform.setdefault(platform, []).append(handle)
    best: dict[tuple[str, str], Any] = {}
    # platform = :p AND handle IN (...): served by the (platform, handle) index.
    batches = [
        (platform, handles[start : start + CHUNK])
        for platform, handles in by_platform.items()
        for start in range(0, len(handles), CHUNK)
    ]
    for platform, batch in batches:
        rows = await session.execute(
            sa.select(
                ACCOUNTS.c.id,
                ACCOUNTS.c.force_id,
                ACCOUNTS.c.platform,
                ACCOUNTS.c.handle,
                ACCOUNTS.c.status,
                ACCOUNTS.c.created_at,
            ).where(
                ACCOUNTS.c.platform == platform,
                ACCOUNTS.c.handle.in_(batch),
                force_filter(principal, ACCOUNTS.c.force_id),
            )
        )
        for row in rows:
            key = (row.platform, row.handle)
            rank = (row.status not in RELEASED_STATUSES, row.created_at)
            held = best.get(key)
            if held is None or rank > (held.status not in RELEASED_STATUSES, held.created_at):
                best[key] = row
    return best


async def list_periods(
    session: AsyncSession,
    account_id: uuid.UUID,
    after: tuple[date, date, uuid.UUID] | None,
    limit: int,
) -> list[ActivityPeriod]:
    """Newest period first."""
    query = (
        sa.select(ActivityPeriod)
        .where(ActivityPeriod.account_id == account_id)
        .order_by(
            ActivityPeriod.period_start.desc(),
            ActivityPeriod.period_end.desc(),
            ActivityPeriod.id.desc(),
        )
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(
            sa.tuple_(ActivityPeriod.period_start, ActivityPeriod.period_end, ActivityPeriod.id)
            < sa.tuple_(
                sa.literal(after[0], sa.Date()),
                sa.literal(after[1], sa.Date()),
                sa.literal(after[2], sa.Uuid()),
            )
        )
    return list((await session.scalars(query)).all())


async def get_period(
    session: AsyncSession, account_id: uuid.UUID, activity_id: uuid.UUID
) -> ActivityPeriod | None:
    return await session.scalar(
        sa.select(ActivityPeriod).where(
            ActivityPeriod.id == activity_id, ActivityPeriod.account_id == account_id
        )
    )
