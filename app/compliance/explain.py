"""A short human "why" for each flag an account carries (for reports and exports).

`reasons(session, account_ids, now, named=...)` answers `{account_id: {flag: reason}}` with
only the flags that are raised, computed by the same SQL as the flags themselves (a handful
of statements per 500 accounts, never one per account). Reasons name an operator only on
the accounts in `named` — those whose operators the caller may see (`app.auth.redaction`);
elsewhere they say "the owner" or "an editor".
"""

from __future__ import annotations

import uuid
from collections.abc import Container, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.compliance.flags import (
    ACTIVITY_WINDOW_DAYS,
    activity_window_start,
    flag_columns,
    flags_of,
)
from app.compliance.sqltime import days_before, instant
from app.guidelines.rules import GUIDELINES, has_accepted_signoff, in_scope_of, is_current
from app.models import Account, ActivityPeriod, Custodianship, Force, Person

CHUNK = 500


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "0 %"


async def _accounts(session: AsyncSession, ids: list[uuid.UUID], now: datetime) -> list[Any]:
    owner = Person.__table__.alias("owner")
    query = (
        sa.select(
            Account.id,
            Account.last_post_at,
            Account.created_at,
            Account.review_due_on,
            Account.owner_id,
            Force.dormancy_days,
            owner.c.name.label("owner_name"),
            *flag_columns(now),
        )
        .join(Force, Force.id == Account.force_id)
        .outerjoin(owner, owner.c.id == Account.owner_id)
        .where(Account.id.in_(ids))
    )
    return list((await session.execute(query)).all())


async def _activity_totals(
    session: AsyncSession, ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Any]:
    act = ActivityPeriod
    rows = await session.execute(
        sa.select(
            act.account_id,
            sa.func.sum(act.original_posts + act.reposts + act.replies).label("items"),
            sa.func.sum(act.reposts).label("reposts"),
            sa.func.sum(act.replies).label("replies"),
        )
        .where(act.account_id.in_(ids), act.period_end >= activity_window_start(now))
        .group_by(act.account_id)
    )
    return {r.account_id: r for r in rows}


async def _missing_signoffs(
    session: AsyncSession, ids: list[uuid.UUID], named: Container[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[str]]:
    a = Account.__table__
    cust = Custodianship.__table__
    owners = sa.select(
        a.c.id.label("account_id"),
        a.c.owner_id.label("person_id"),
        sa.literal("owner").label("role"),
    ).where(a.c.id.in_(ids), a.c.owner_id.is_not(None))
    editors = sa.select(
        cust.c.account_id, cust.c.person_id, sa.literal("editor").label("role")
    ).where(cust.c.account_id.in_(ids), cust.c.role == "editor", cust.c.valid_to.is_(None))
    c = sa.union_all(owners, editors).subquery("c")
    p = Person.__table__.alias("p")
    g = GUIDELINES.alias("g")
    f = Force.__table__.alias("f")
    acc = a.alias("acc")
    query = (
        sa.select(c.c.account_id, c.c.role, p.c.name, g.c.code, g.c.version, g.c.effective_from)
        .select_from(
            c.join(p, p.c.id == c.c.person_id)
            .join(acc, acc.c.id == c.c.account_id)
            .join(f, f.c.id == acc.c.force_id)
            .join(g, in_scope_of(g, acc.c.force_id))
        )
        .where(
            p.c.status == "active",
            is_current(g, now),
            g.c.effective_from < days_before(instant(now), f.c.signoff_grace_days),
            ~has_accepted_signoff(p.c.id, g),
        )
        .order_by(c.c.account_id, c.c.role.desc(), p.c.name, g.c.code)
    )
    out: dict[uuid.UUID, list[str]] = {}
    for r in await session.execute(query):
        who = f"{r.name} ({r.role})" if r.account_id in named else _ROLE_ONLY[r.role]
        out.setdefault(r.account_id, []).append(
            f"{who} has not signed {r.code} v{r.version}"
            f" (in effect since {r.effective_from.date()})"
        )
    return out


_ROLE_ONLY = {"owner": "The owner", "editor": "An editor"}


def _dormant(row: Any) -> str:
    if row.last_post_at is None:
        return (
            f"No post recorded since registration on {row.created_at.date()}"
            f" (more than {row.dormancy_days} days)."
        )
    return f"No post since {row.last_post_at.date()} (more than {row.dormancy_days} days)."


def _orphaned(row: Any, named: bool) -> str:
    if row.owner_id is None:
        return "No owner is recorded."
    return f"The owner, {row.owner_name}, has left." if named else "The owner has left."


async def reasons(
    session: AsyncSession,
    account_ids: Iterable[uuid.UUID],
    now: datetime,
    *,
    named: Container[uuid.UUID] = frozenset(),
) -> dict[uuid.UUID, dict[str, str]]:
    ids = list(dict.fromkeys(account_ids))
    out: dict[uuid.UUID, dict[str, str]] = {}
    window = f"the last {ACTIVITY_WINDOW_DAYS} days"
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = await _accounts(session, chunk, now)
        flagged = {r.id: set(flags_of(r._mapping)) for r in rows}
        busy = [i for i, f in flagged.items() if f & {"broadcast_only", "repost_heavy"}]
        totals = await _activity_totals(session, busy, now) if busy else {}
        unsigned = [i for i, f in flagged.items() if "guidelines_outstanding" in f]
        missing = await _missing_signoffs(session, unsigned, named, now) if unsigned else {}
        for row in rows:
            why: dict[str, str] = {}
            flags = flagged[row.id]
            t = totals.get(row.id)
            if "dormant" in flags:
                why["dormant"] = _dormant(row)
            if "broadcast_only" in flags and t is not None:
                why["broadcast_only"] = (
                    f"Replies were {t.replies} of {t.items} items"
                    f" ({_percent(t.replies, t.items)}) in {window}; under 5 %."
                )
            if "repost_heavy" in flags and t is not None:
                why["repost_heavy"] = (
                    f"Reposts were {t.reposts} of {t.items} items"
                    f" ({_percent(t.reposts, t.items)}) in {window}; 80 % or more."
                )
            if "orphaned" in flags:
                why["orphaned"] = _orphaned(row, row.id in named)
            if "guidelines_outstanding" in flags:
                why["guidelines_outstanding"] = (
                    "; ".join(missing.get(row.id, [])) or "An operator has not signed."
                ) + "."
            if "no_strategy_link" in flags:
                why["no_strategy_link"] = "Not linked to any active strategy objective."
            if "review_overdue" in flags:
                overdue = (now.date() - row.review_due_on).days
                why["review_overdue"] = (
                    f"Review was due on {row.review_due_on} ({overdue} days ago)."
                )
            if "unsanctioned" in flags:
                why["unsanctioned"] = "An unofficial account that is active without sanction."
            if "imitates_official" in flags:
                why["imitates_official"] = (
                    "Its handle has the look-alike skeleton of an active official or corporate "
                    "account's handle (see its look-alikes)."
                )
            out[row.id] = why
    return out
