"""The summary's group rows from per-force totals kept current (PostgreSQL, primary).

Each force's rows (`report_totals`) are recounted only when a change has marked the force
stale (`report_stale`, filled by a trigger on audit_events in the change's transaction),
or when time alone may have changed one of its flags (`valid_until`). A reader that finds
every force in scope fresh serves the stored rows without a lock. Otherwise one recount
at a time, under an advisory lock: a REPEATABLE READ transaction taken after the lock
(so it sees the previous recount's commit) reads the stale marks, recounts the forces
that need it in that one snapshot (split over `parts` statements that import it), stores
their rows and deletes the marks it has seen. A DELETE in that snapshot only sees marks
visible to it: a change committed meanwhile keeps its mark for the next reader.

On SQLite and when reports read from a replica (which cannot write the totals), every
summary recounts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.compliance.sqltime import days_before, instant
from app.db import Database, unavailable
from app.guidelines.rules import GUIDELINES, in_scope_of
from app.models import Account, Force, ReportStale, ReportTotals
from app.models.enums import ACCOUNT_STATUSES, CLASSIFICATIONS, FLAGS, PLATFORMS
from app.reports import repository

log = logging.getLogger(__name__)

# One recount of the totals at a time (the audit sequencer's key is 7_243_002).
TOTALS_LOCK_KEY = 7_243_010

_TOTALS = ReportTotals.__table__
_STALE = ReportStale.__table__
_FORCES = sa.bindparam("totals_forces", expanding=True, type_=sa.Uuid())


def _stale_in(forces: Any) -> sa.Exists:
    return sa.exists().where(sa.or_(_STALE.c.force_id.is_(None), _STALE.c.force_id.in_(forces)))


# One round trip: the forces' stored rows, each with whether any of them (or every force)
# is marked stale.
_STORED = sa.select(
    _TOTALS.c.force_id,
    _TOTALS.c.computed_at,
    _TOTALS.c.valid_until,
    _TOTALS.c.groups,
    _stale_in(_FORCES).label("stale"),
).where(_TOTALS.c.force_id.in_(_FORCES))


def _servable(row: Any, now: datetime) -> list[tuple[Any, ...]] | None:
    """A stored row's groups, if they may be served at `now` (None: recount the force)."""
    if not row.computed_at <= now < row.valid_until:
        return None
    try:
        return _rows_of(row.force_id, row.groups)
    except (TypeError, ValueError):
        log.warning("stored summary totals of force %s are malformed: recounting", row.force_id)
        return None


_WIDTH = 3 + 1 + len(FLAGS) + 1  # platform, classification, status; n; flags; clean


def _rows_of(force_id: uuid.UUID, groups: Any) -> list[tuple[Any, ...]]:
    """Stored groups as the statement's rows, refused (ValueError) unless each has the
    shape and vocabulary the summary folds: a stored row never fails a request."""
    rows = []
    for group in groups:
        if not (
            isinstance(group, list)
            and len(group) == _WIDTH
            and group[0] in PLATFORMS
            and group[1] in CLASSIFICATIONS
            and group[2] in ACCOUNT_STATUSES
            and all(type(v) is int for v in group[3:])
        ):
            raise ValueError(f"stored summary totals of force {force_id} are malformed")
        rows.append((force_id, *group))
    return rows


async def summary_groups(
    session: AsyncSession,
    db: Database,
    force_ids: Sequence[uuid.UUID],
    now: datetime,
    parts: int = 1,
) -> tuple[Sequence[Any], datetime]:
    """The summary's group rows for `force_ids` (as `repository.summary_groups` counts
    them) and the time they describe: the oldest recount among them."""
    if db.is_sqlite or db.reads_from_replica() or not force_ids:
        return await repository.summary_groups(session, db, force_ids, now, parts), now
    try:
        # On a session of its own: a failure here must not spoil the request's transaction.
        async with db.session() as own:
            found = await own.execute(_STORED, {"totals_forces": list(force_ids)})
            stored = found.all()
        servable = [_servable(row, now) for row in stored]
        complete = len(stored) == len(set(force_ids))
        if complete and not any(row.stale for row in stored) and None not in servable:
            rows = [r for groups in servable if groups is not None for r in groups]
            return rows, min(row.computed_at for row in stored)
        return await _recount(db, force_ids, now, parts)
    except Exception as exc:
        if unavailable(exc):
            raise
        # The totals are a cache: whatever went wrong with them, count as before.
        log.exception("summary totals unusable; counting every account")
    async with db.session(write=False) as own:
        return await repository.summary_groups(own, db, force_ids, now, parts), now


async def _recount(
    db: Database, force_ids: Sequence[uuid.UUID], now: datetime, parts: int
) -> tuple[Sequence[Any], datetime]:
    lock = db.session()
    writer = db.session()
    try:
        await lock.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": TOTALS_LOCK_KEY})
        # The snapshot is taken by its first statement, after the lock: it sees what the
        # previous holder committed.
        await writer.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        snapshot = await repository.export_snapshot(writer)
        found = await _recount_in_snapshot(writer, db, snapshot, force_ids, now, parts)
        await writer.commit()
        await lock.commit()
        return found
    finally:
        await writer.close()
        await lock.close()


async def _recount_in_snapshot(
    writer: AsyncSession,
    db: Database,
    snapshot: str,
    force_ids: Sequence[uuid.UUID],
    now: datetime,
    parts: int,
) -> tuple[Sequence[Any], datetime]:
    if await writer.scalar(sa.select(sa.exists().where(_STALE.c.force_id.is_(None)))):
        # Every force is out of date: no stored row may be served again.
        await writer.execute(sa.delete(_TOTALS))
        await writer.execute(sa.delete(_STALE).where(_STALE.c.force_id.is_(None)))
    in_scope = list(dict.fromkeys(force_ids))
    marked = set(
        await writer.scalars(
            sa.select(_STALE.c.force_id).where(_STALE.c.force_id.in_(in_scope)).distinct()
        )
    )
    stored = {
        row.force_id: row
        for row in await writer.execute(sa.select(_TOTALS).where(_TOTALS.c.force_id.in_(in_scope)))
    }
    rows: list[Any] = []
    as_of = now
    todo = []
    for force_id in in_scope:
        row = stored.get(force_id)
        groups = None if row is None or force_id in marked else _servable(row, now)
        if row is None or groups is None:
            todo.append(force_id)
        else:
            rows += groups
            as_of = min(as_of, row.computed_at)
    if not todo:
        return rows, as_of
    counted = await repository.groups_in_snapshot(
        writer, db, snapshot, todo, now, parts, write=True
    )
    until = await valid_until(writer, todo, now)
    per_force: dict[uuid.UUID, list[list[Any]]] = {f: [] for f in todo}
    for group in counted:
        force_id, *values = group
        per_force[force_id].append([v if isinstance(v, str) else int(v or 0) for v in values])
    upsert = postgresql.insert(_TOTALS).values(
        [
            {"force_id": f, "computed_at": now, "valid_until": until.get(f, now), "groups": groups}
            for f, groups in per_force.items()
        ]
    )
    await writer.execute(
        upsert.on_conflict_do_update(
            index_elements=[_TOTALS.c.force_id],
            set_={c: upsert.excluded[c] for c in ("computed_at", "valid_until", "groups")},
        )
    )
    await writer.execute(sa.delete(_STALE).where(_STALE.c.force_id.in_(todo)))
    rows += [r for f, groups in per_force.items() for r in _rows_of(f, groups)]
    return rows, as_of


def _next_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)


async def valid_until(
    session: AsyncSession, force_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, datetime]:
    """Per force, the earliest instant from `now` on at which time alone may change one of
    its flags (app.compliance.flags): the next UTC midnight (today and the activity
    window are dates: review_overdue, broadcast_only, repost_heavy); an active account
    going dormant; a guideline taking effect (it becomes current, superseding the one
    before) or its sign-off grace ending (guidelines_outstanding). Instants equal to
    `now` count: a flag judged strictly may change just after."""
    a = Account.__table__
    g = GUIDELINES
    f = Force.__table__
    since = sa.func.coalesce(a.c.last_post_at, a.c.created_at)
    at = instant(now)
    dormant_from = (
        sa.select(sa.func.min(since))
        .where(
            a.c.force_id == f.c.id,
            a.c.status == "active",
            since >= days_before(at, f.c.dormancy_days),
        )
        .scalar_subquery()
    )
    takes_effect = (
        sa.select(sa.func.min(g.c.effective_from))
        .where(in_scope_of(g, f.c.id), g.c.effective_from >= at)
        .scalar_subquery()
    )
    grace_from = (
        sa.select(sa.func.min(g.c.effective_from))
        .where(
            in_scope_of(g, f.c.id), g.c.effective_from >= days_before(at, f.c.signoff_grace_days)
        )
        .scalar_subquery()
    )
    query = sa.select(
        f.c.id,
        f.c.dormancy_days,
        f.c.signoff_grace_days,
        dormant_from.label("dormant_from"),
        takes_effect.label("takes_effect"),
        grace_from.label("grace_from"),
    ).where(f.c.id.in_(list(force_ids)))
    midnight = _next_midnight(now)
    out = {}
    for row in await session.execute(query):
        candidates = [midnight, row.takes_effect]
        if row.dormant_from is not None:
            candidates.append(row.dormant_from + timedelta(days=row.dormancy_days))
        if row.grace_from is not None:
            candidates.append(row.grace_from + timedelta(days=row.signoff_grace_days))
        out[row.id] = min(c for c in candidates if c is not None)
    return out


async def mark_all_stale(db: Database) -> None:
    """After a bulk load that bypasses the audit trigger (COPY with triggers off): every
    force's totals are out of date."""
    if db.is_sqlite:
        return
    async with db.session() as session:
        await session.execute(sa.insert(_STALE).values(force_id=None))
        await session.commit()
