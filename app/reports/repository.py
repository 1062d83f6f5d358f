"""Report queries: aggregates in SQL, flags as the compliance module's SQL expressions."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import redaction
from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.compliance.flags import BOUND, FlagTime, at, bound_values, flag_expression
from app.db import Database
from app.models import Account, Force, Person
from app.models.enums import FLAGS, RELEASED_STATUSES


def live() -> sa.ColumnElement[bool]:
    return Account.status.not_in(RELEASED_STATUSES)


def _flag(flag: str, now: datetime | FlagTime, *, per_row: bool = False) -> sa.ColumnElement[bool]:
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
# 4 MB of work_mem to stay in memory; and a plan made for the forces given each time (a
# few ms) instead of the generic plan PostgreSQL may settle on for a prepared statement
# after five runs (about 40 % slower here, so every sixth request on a connection was).
_REPORT_SETTINGS = (
    "set_config('jit', 'off', true), set_config('work_mem', '32MB', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)
_SUMMARY_SETTINGS = sa.text(f"SELECT {_REPORT_SETTINGS}")
# When the summary is split over concurrent statements, they are the parallelism: no
# parallel workers of their own competing for the same cores.
_SPLIT_SETTINGS = sa.text(
    f"SELECT {_REPORT_SETTINGS}, set_config('max_parallel_workers_per_gather', '0', true)"
)
_SUMMARY_FORCES = sa.bindparam("summary_forces", expanding=True, type_=sa.Uuid())
_ACCOUNTS_PER_FORCE = (
    sa.select(Account.force_id, sa.func.count().label("n"))
    .where(Account.force_id.in_(_SUMMARY_FORCES))
    .group_by(Account.force_id)
)
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]{1,64}$")


@functools.cache
def _summary_statement() -> sa.Select[*tuple[Any, ...]]:
    """One row per (force, platform, classification, status) with flag and clean-live sums,
    over the accounts of the forces bound as `summary_forces`; built once, the clock bound.

    Each account's flags are computed once, as one bit each of a `flags` mask (so each set
    query is built and probed once per statement); the accounts are counted per group and
    mask, then those few thousand rows summed per group. Flags count for live accounts
    only. The flags' set queries are kept to the same forces, so statements over disjoint
    forces share no work.
    """
    t = dataclasses.replace(BOUND, forces=_SUMMARY_FORCES, joined_force=Force.__table__)
    mask = sum(
        (sa.case((flag_expression(f, t), 1 << i), else_=0) for i, f in enumerate(FLAGS)),
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
        .join(Force, Force.id == Account.force_id)
        .where(Account.force_id.in_(_SUMMARY_FORCES))
        .subquery("flagged")
    )
    f = flagged.c
    keys = (f.force_id, f.platform, f.classification, f.status, f.flags)
    per_mask = sa.select(*keys, sa.func.count().label("n")).group_by(*keys).subquery("per_mask")
    c = per_mask.c
    live = c.status.not_in(RELEASED_STATUSES)

    # Sums as BIGINT (PostgreSQL sums counts as NUMERIC, read back as Decimal).
    def count_if(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.cast(sa.func.sum(sa.case((sa.and_(live, cond), c.n), else_=0)), sa.BigInteger)

    group = (c.force_id, c.platform, c.classification, c.status)
    return sa.select(
        *group,
        sa.cast(sa.func.sum(c.n), sa.BigInteger).label("n"),
        *[count_if(c.flags.op("&")(1 << i) != 0).label(f) for i, f in enumerate(FLAGS)],
        count_if(c.flags == 0).label("clean"),
    ).group_by(*group)


async def _groups_of(
    session: AsyncSession, force_ids: Sequence[uuid.UUID], now: datetime, split: bool = False
) -> Sequence[Any]:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_SPLIT_SETTINGS if split else _SUMMARY_SETTINGS)
    params = {"summary_forces": list(force_ids), **bound_values(now)}
    return (await session.execute(_summary_statement(), params)).all()


def _balanced(
    sizes: dict[uuid.UUID, int], force_ids: Sequence[uuid.UUID], parts: int
) -> list[list[uuid.UUID]]:
    """Forces dealt into `parts` lists of about equal account counts (largest first, each
    to the lightest list so far)."""
    chunks: list[list[uuid.UUID]] = [[] for _ in range(parts)]
    loads = [0] * parts
    for force_id in sorted(force_ids, key=lambda f: (-sizes.get(f, 0), str(f))):
        lightest = loads.index(min(loads))
        chunks[lightest].append(force_id)
        loads[lightest] += sizes.get(force_id, 0)
    return chunks


async def summary_groups(
    session: AsyncSession,
    db: Database,
    force_ids: Sequence[uuid.UUID],
    now: datetime,
    parts: int = 1,
) -> Sequence[Any]:
    """The summary's group rows for the accounts of `force_ids`.

    On PostgreSQL with `parts` > 1 the forces are dealt into that many statements of
    about equal account counts, run at once on connections of their own, so a national
    summary uses as many of the database server's cores; every statement reads one
    snapshot (exported by the first, imported by the others), so the parts add up as one
    statement would.
    Elsewhere, one statement on the request's session.
    """
    parts = min(parts, len(force_ids))
    if parts <= 1 or db.is_sqlite:
        return await _groups_of(session, force_ids, now)
    first = db.session(write=False)
    try:
        await first.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        snapshot = await export_snapshot(first)
        return await groups_in_snapshot(first, db, snapshot, force_ids, now, parts)
    finally:
        await first.close()


async def export_snapshot(session: AsyncSession) -> str:
    """PostgreSQL: the id of the session's transaction snapshot, for others to import."""
    snapshot = str(await session.scalar(sa.text("SELECT pg_export_snapshot()")))
    if not _SNAPSHOT_ID.match(snapshot):
        raise RuntimeError("unexpected snapshot id from the database")
    return snapshot


async def groups_in_snapshot(
    first: AsyncSession,
    db: Database,
    snapshot: str,
    force_ids: Sequence[uuid.UUID],
    now: datetime,
    parts: int,
    *,
    write: bool = False,
) -> Sequence[Any]:
    """PostgreSQL: the group rows of `force_ids` as `snapshot` (exported by `first`, a
    REPEATABLE READ transaction, which runs one share) sees them, over `parts` statements
    at once, the others on sessions of their own that import it (`write`: sessions of the
    primary, never a replica)."""
    if not _SNAPSHOT_ID.match(snapshot):
        raise ValueError("not a snapshot id")
    parts = max(1, min(parts, len(force_ids)))
    if parts == 1:
        return await _groups_of(first, force_ids, now)
    others = [db.session(write=write) for _ in range(parts - 1)]
    try:
        for s in others:
            await s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            await s.execute(sa.text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        sizes = await first.execute(_ACCOUNTS_PER_FORCE, {"summary_forces": list(force_ids)})
        chunks = _balanced({row.force_id: row.n for row in sizes}, force_ids, parts)
        results = await asyncio.gather(
            *(
                _groups_of(s, chunk, now, split=True)
                for s, chunk in zip([first, *others], chunks, strict=True)
            )
        )
    finally:
        for s in others:
            await s.close()
    return [row for rows in results for row in rows]


def _flag_filter(flag: str | None, now: FlagTime) -> sa.ColumnElement[bool]:
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
    # The flags' set queries kept to the forces in scope (their own scans, by index).
    forces = [f.id for f in await forces_in_scope(session, principal, force_id)]
    t = dataclasses.replace(at(now), forces=forces)
    shown = redaction.principal_operators_shown(
        principal, Account.force_id, Account.is_anonymous, Account.id
    )
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
            # Who runs it only where the caller may see operators (app.auth.redaction).
            shown.label("operators_shown"),
            Account.owner_id.is_not(None).label("has_owner"),
            redaction.shown_or_null(shown, Account.owner_id, "owner_id"),
            redaction.shown_or_null(shown, Person.name, "owner_name"),
            Account.review_due_on,
            Account.last_post_at,
            Account.created_at,
            *[_flag(f, now, per_row=True).label(f"flag_{f}") for f in FLAGS],
        )
        .select_from(Account)
        .join(Force, Force.id == Account.force_id)
        .outerjoin(Person, Person.id == Account.owner_id)
        .where(*_scope(principal, force_id), live(), _flag_filter(flag, t))
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
