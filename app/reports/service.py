"""Reports (SPEC §4): per-force counts and the compliance list.

Decisions, also stated in the OpenAPI description:
- `total`, `by_platform`, `by_classification` and `by_status` count every record in scope,
  decommissioned and rejected ones included (their history is part of the registry).
- Flags are counted for live accounts only (not decommissioned or rejected): a closed
  account needs no action. `compliance_rate` = live accounts raising no flag / live
  accounts, null when a force has none. The compliance list holds live flagged accounts.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth.deps import scope_force_id
from app.auth.principal import Principal
from app.compliance import explain
from app.db import Database
from app.errors import ValidationFailed
from app.models.enums import ACCOUNT_STATUSES, CLASSIFICATIONS, FLAGS, PLATFORMS, RELEASED_STATUSES
from app.reports import repository, totals
from app.reports.schemas import ComplianceItem, ForceSummary
from app.schemas import PersonRef

CSV_CHUNK = 1000


async def summary(
    session: AsyncSession,
    db: Database,
    principal: Principal,
    force_code: str | None,
    parts: int = 1,
) -> list[ForceSummary]:
    """`parts`: how many concurrent statements may share the work (PostgreSQL)."""
    return (await summary_as_of(session, db, principal, force_code, parts))[0]


async def summary_as_of(
    session: AsyncSession,
    db: Database,
    principal: Principal,
    force_code: str | None,
    parts: int = 1,
) -> tuple[list[ForceSummary], datetime]:
    """The summary and the time its figures describe (the oldest recount they come from)."""
    force_id = await scope_force_id(session, principal, force_code)
    forces = await repository.forces_in_scope(session, principal, force_id)
    groups, as_of = await totals.summary_groups(
        session, db, [f.id for f in forces], clock.now(), parts
    )
    rows: dict[uuid.UUID, dict[str, Any]] = {
        f.id: {
            "force": f.code,
            "name": f.name,
            "total": 0,
            "live": 0,
            "clean": 0,
            "by_platform": dict.fromkeys(PLATFORMS, 0),
            "by_classification": dict.fromkeys(CLASSIFICATIONS, 0),
            "by_status": dict.fromkeys(ACCOUNT_STATUSES, 0),
            "by_flag": dict.fromkeys(FLAGS, 0),
        }
        for f in forces
    }
    # At most forces x 13 x 3 x 6 groups: folding them here is not a loop over accounts.
    for force_id, platform, classification, status, n, *flag_counts, clean in groups:
        row = rows.get(force_id)
        if row is None:
            continue
        n = int(n)
        row["total"] += n
        if status not in RELEASED_STATUSES:
            row["live"] += n
        row["clean"] += int(clean or 0)
        row["by_platform"][platform] += n
        row["by_classification"][classification] += n
        row["by_status"][status] += n
        by_flag = row["by_flag"]
        for flag, count in zip(FLAGS, flag_counts, strict=True):
            if count:
                by_flag[flag] += int(count)
    out = []
    for row in rows.values():
        clean, live = row.pop("clean"), row["live"]
        rate = round(clean / live, 4) if live else None
        out.append(ForceSummary(**row, compliance_rate=rate))
    return out, as_of


def _check_flag(flag: str | None) -> None:
    if flag is not None and flag not in FLAGS:
        raise ValidationFailed(
            f"Unknown flag {flag!r}.",
            errors=[{"loc": ["query", "flag"], "msg": f"must be one of: {', '.join(FLAGS)}"}],
        )


def _after(cursor: list[str | None] | None) -> uuid.UUID | None:
    if not cursor:
        return None
    try:
        return uuid.UUID(cursor[0] or "")
    except ValueError:
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from None


def _why(flag: str, row: Any, dormancy: dict[str, int]) -> str:
    if flag == "dormant":
        days = dormancy.get(row.force, 90)
        if row.last_post_at is None:
            return f"Never posted; registered on {row.created_at.date()} (limit {days} days)."
        return f"No post since {row.last_post_at.date()} (limit {days} days)."
    if flag == "orphaned":
        return "Its owner has left." if row.has_owner else "It has no owner."
    if flag == "review_overdue" and row.review_due_on is not None:
        return f"Its review was due on {row.review_due_on}."
    return _WHY[flag]


_WHY = {
    "broadcast_only": "Replies were under 5 % of its items over the last 90 days.",
    "repost_heavy": "Reposts were 80 % or more of its items over the last 90 days.",
    "guidelines_outstanding": "Its owner or an editor has not signed the current guidelines.",
    "no_strategy_link": "It is linked to no active strategy objective.",
    "review_overdue": "Its review is overdue.",
    "unsanctioned": "An unofficial account that is active.",
    "imitates_official": "An unofficial account whose handle looks like an official one's.",
}


async def _items(
    session: AsyncSession, principal: Principal, rows: Sequence[Any], now: datetime
) -> list[ComplianceItem]:
    dormancy = await repository.dormancy_days(session, {r.force for r in rows})
    # The statement has emptied owner_id and owner_name where the caller may not see the
    # account's operators; the reasons then name no one either (app.auth.redaction).
    named = {r.id for r in rows if r.operators_shown}
    explained = await _explained(session, [r.id for r in rows], named, now)
    # A CSV export builds thousands of these per chunk: off the event loop.
    return await anyio.to_thread.run_sync(_built, rows, dormancy, explained)


def _built(
    rows: Sequence[Any],
    dormancy: dict[str, int],
    explained: dict[uuid.UUID, dict[str, str]],
) -> list[ComplianceItem]:
    items = []
    for r in rows:
        flags = [f for f in FLAGS if getattr(r, f"flag_{f}")]
        given = explained.get(r.id, {})
        owner = None
        if r.owner_id is not None:
            owner = PersonRef(id=r.owner_id, name=r.owner_name)
        items.append(
            ComplianceItem(
                id=r.id,
                force=r.force,
                platform=r.platform,
                handle=r.handle,
                url=r.url,
                display_name=r.display_name,
                classification=r.classification,
                status=r.status,
                owner=owner,
                operators_redacted=not r.operators_shown,
                review_due_on=r.review_due_on,
                last_post_at=r.last_post_at,
                flags=flags,
                why={f: given.get(f) or _why(f, r, dormancy) for f in flags},
            )
        )
    return items


async def _explained(
    session: AsyncSession, ids: list[uuid.UUID], named: set[uuid.UUID], now: datetime
) -> dict[uuid.UUID, dict[str, str]]:
    """The compliance module's reasons; ours fill any gap (a flag it does not explain)."""
    return await explain.reasons(session, ids, now, named=named) if ids else {}


async def compliance_page(
    session: AsyncSession,
    principal: Principal,
    force_code: str | None,
    flag: str | None,
    cursor: list[str | None] | None,
    limit: int,
) -> tuple[list[ComplianceItem], uuid.UUID | None]:
    _check_flag(flag)
    force_id = await scope_force_id(session, principal, force_code)
    now = clock.now()
    rows = await repository.flagged_accounts(
        session, principal, force_id, now, flag=flag, after_id=_after(cursor), limit=limit + 1
    )
    more = len(rows) > limit
    items = await _items(session, principal, rows[:limit], now)
    return items, (items[-1].id if more else None)


async def compliance_scope(
    session: AsyncSession, principal: Principal, force_code: str | None, flag: str | None
) -> uuid.UUID | None:
    """Check the inputs of a CSV export up front (errors before the stream starts)."""
    _check_flag(flag)
    return await scope_force_id(session, principal, force_code)


async def compliance_stream(
    db: Database, principal: Principal, force_id: uuid.UUID | None, flag: str | None
) -> AsyncIterator[list[ComplianceItem]]:
    """Every flagged account in scope, in chunks, each read in its own short transaction.

    The request's session is closed before the response streams, so this opens its own.
    """
    now: datetime = clock.now()
    after: uuid.UUID | None = None
    while True:
        async with db.session(write=False) as session:
            rows = await repository.flagged_accounts(
                session, principal, force_id, now, flag=flag, after_id=after, limit=CSV_CHUNK
            )
            items = await _items(session, principal, rows, now)
        if items:
            yield items
        if len(rows) < CSV_CHUNK:
            return
        after = rows[-1].id
