"""Report queries: aggregates in SQL, flags as the compliance module's SQL expressions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.compliance.flags import flag_expression
from app.models import Account, Force, Person
from app.models.enums import FLAGS, RELEASED_STATUSES


def live() -> sa.ColumnElement[bool]:
    return Account.status.not_in(RELEASED_STATUSES)


def _flag(flag: str, now: datetime, *, per_row: bool = False) -> sa.ColumnElement[bool]:
    # Only live accounts raise flags here; CASE also spares closed accounts the flag
    # subqueries. NULL (an unknown) counts as not raised. The set form (one uncorrelated
    # query per flag and statement) for filters and aggregates; per row for a page.
    raised = flag_expression(flag, now, per_row=per_row)
    return sa.case((live(), sa.func.coalesce(raised, sa.false())), else_=sa.false())


def _scope(principal: Principal, force_id: uuid.UUID | None) -> list[sa.ColumnElement[bool]]:
    clauses = [force_filter(principal, Account.force_id)]
    if force_id is not None:
        clauses.append(Account.force_id == force_id)
    return clauses


async def forces_in_scope(
    session: AsyncSession, principal: Principal, force_id: uuid.UUID | None
) -> list[Any]:
    query = sa.select(Force.id, Force.code, Force.name).where(force_filter(principal, Force.id))
    if force_id is not None:
        query = query.where(Force.id == force_id)
    return list((await session.execute(query.order_by(Force.code))).all())


# For the summary statement only (local settings end with the transaction), in one round
# trip. JIT compiling its expressions costs more than running them (about 1.5 s at
# 100,000 accounts); the activity totals and sign-off hashes need more than the default
# 4 MB of work_mem to stay in memory.
_SUMMARY_SETTINGS = sa.text(
    "SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true)"
)


async def summary_groups(
    session: AsyncSession, principal: Principal, force_id: uuid.UUID | None, now: datetime
) -> Sequence[Any]:
    """One row per (force, platform, classification, status) with flag and clean-live sums.

    Each account's flags are computed once, as one bit each of a `flags` mask (so each set
    query is built and probed once per statement); the accounts are counted per group and
    mask, then those few thousand rows summed per group. Flags count for live accounts only.
    """
    mask = sum(
        (sa.case((flag_expression(f, now), 1 << i), else_=0) for i, f in enumerate(FLAGS)),
        start=sa.literal(0),
    )
    flagged = (
        sa.select(
            Account.force_id,
            Account.platform,
            Account.classification,
            Account.status,
            mask.label("flags"),
        )
        .where(*_scope(principal, force_id))
        .subquery("flagged")
    )
    f = flagged.c
    keys = (f.force_id, f.platform, f.classification, f.status, f.flags)
    per_mask = sa.select(*keys, sa.func.count().label("n")).group_by(*keys).subquery("per_mask")
    c = per_mask.c
    live = c.status.not_in(RELEASED_STATUSES)

    def count_if(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((sa.and_(live, cond), c.n), else_=0))

    group = (c.force_id, c.platform, c.classification, c.status)
    query = sa.select(
        *group,
        sa.func.sum(c.n).label("n"),
        *[count_if(c.flags.op("&")(1 << i) != 0).label(f) for i, f in enumerate(FLAGS)],
        count_if(c.flags == 0).label("clean"),
    ).group_by(*group)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_SUMMARY_SETTINGS)
    return (await session.execute(query)).all()


def _flag_filter(flag: str | None, now: datetime) -> sa.ColumnElement[bool]:
    if flag is not None:
        return _flag(flag, now)
    return sa.or_(*[_flag(f, now) for f in FLAGS])


async def flagged_accounts(
    session: AsyncSession,
    principal: Principal,
    force_id: uuid.UUID | None,
    now: datetime,
    *,
    flag: str | None,
    after_id: uuid.UUID | None,
    limit: int,
) -> Sequence[Any]:
    """Live accounts raising `flag` (or any flag), in id order, from after `after_id`."""
    query = (
        sa.select(
            Account.id,
            Force.code.label("force"),
            Account.platform,
            Account.handle,
            Account.url,
            Account.display_name,
            Account.classification,
            Account.status,
            Account.owner_id,
            Person.name.label("owner_name"),
            Person.status.label("owner_status"),
            Account.review_due_on,
            Account.last_post_at,
            Account.created_at,
            *[_flag(f, now, per_row=True).label(f"flag_{f}") for f in FLAGS],
        )
        .select_from(Account)
        .join(Force, Force.id == Account.force_id)
        .outerjoin(Person, Person.id == Account.owner_id)
        .where(*_scope(principal, force_id), live(), _flag_filter(flag, now))
        .order_by(Account.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(Account.id > after_id)
    return (await session.execute(query)).all()


async def dormancy_days(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = await session.execute(
        sa.select(Force.code, Force.dormancy_days).where(Force.code.in_(codes))
    )
    return {row.code: row.dormancy_days for row in rows}
