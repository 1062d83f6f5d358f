"""The compliance and health flags of SPEC §7 as SQL expressions over `accounts`.

- `flag_expression(flag, now)`: a boolean SQL expression correlated to `Account`, usable
  in WHERE (`GET /accounts?flag=`) and in SELECT (one statement reads an account and its
  flags). Every flag is EXISTS / scalar subqueries, with the force's settings read by a
  correlated subquery on `forces`, so filtering happens in the database.
- `flag_columns(now)`: every flag as a labelled column, in FLAGS order.
- `flags_of(row)`: the names of the flags that are true in a row selected with them.

Boundaries (all against the `now` given, dates against `now.date()`):
- dormant: active, and the last post (or, never having posted, the registration) is
  strictly more than `dormancy_days` before now.
- broadcast_only / repost_heavy: over activity periods ending on or after today - 90 days,
  items = original_posts + reposts + replies; items >= 10 and replies < 5 % of items /
  reposts >= 80 % of items (integer arithmetic, no rounding).
- orphaned: active or suspended, and no owner or the owner has left.
- guidelines_outstanding: a live account whose owner or an open editor (people still
  active) lacks a sign-off satisfying a current guideline (see app.guidelines.rules) that
  took effect more than `signoff_grace_days` before now.
- no_strategy_link: corporate or official, active, no active objective linked.
- review_overdue: a live account whose `review_due_on` is before today.
- unsanctioned: unofficial and active.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.compliance.sqltime import days_before, instant
from app.guidelines.rules import GUIDELINES, has_accepted_signoff, in_scope_of, is_current
from app.models import Account, AccountObjective, ActivityPeriod, Custodianship, Force, Objective
from app.models import Person as PersonModel
from app.models.enums import FLAGS, RELEASED_STATUSES

ACCOUNTS = Account.__table__
ACTIVITY_WINDOW_DAYS = 90
MIN_ITEMS = 10
# Shares as integer fractions: replies < 1/20 of items, reposts >= 4/5 of items.
BROADCAST_REPLIES = (1, 20)
REPOST_HEAVY = (4, 5)


def _force_setting_cutoff(a: Any, setting: Any, now: datetime) -> sa.ScalarSelect[Any]:
    """now minus the account's force's `setting` days, as a correlated scalar subquery."""
    forces = Force.__table__
    return (
        sa.select(days_before(instant(now), setting))
        .where(forces.c.id == a.c.force_id)
        .correlate_except(forces)
        .scalar_subquery()
    )


def _live(a: Any) -> sa.ColumnElement[bool]:
    return a.c.status.not_in(RELEASED_STATUSES)


def _dormant(a: Any, now: datetime) -> sa.ColumnElement[bool]:
    cutoff = _force_setting_cutoff(a, Force.__table__.c.dormancy_days, now)
    return sa.and_(
        a.c.status == "active", sa.func.coalesce(a.c.last_post_at, a.c.created_at) < cutoff
    )


def activity_window_start(now: datetime) -> Any:
    return now.date() - timedelta(days=ACTIVITY_WINDOW_DAYS)


def _activity_totals_exist(
    a: Any, now: datetime, share: Callable[[Any, Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[bool]:
    act = ActivityPeriod.__table__
    items = sa.func.sum(act.c.original_posts + act.c.reposts + act.c.replies)
    # One group (this account's window), kept only when the totals meet the condition.
    return (
        sa.select(act.c.account_id)
        .where(act.c.account_id == a.c.id, act.c.period_end >= activity_window_start(now))
        .group_by(act.c.account_id)
        .having(sa.and_(items >= MIN_ITEMS, share(act, items)))
        .correlate(a)
        .exists()
    )


def _broadcast_only(a: Any, now: datetime) -> sa.ColumnElement[bool]:
    num, den = BROADCAST_REPLIES
    return _activity_totals_exist(
        a, now, lambda act, items: sa.func.sum(act.c.replies) * den < items * num
    )


def _repost_heavy(a: Any, now: datetime) -> sa.ColumnElement[bool]:
    num, den = REPOST_HEAVY
    return _activity_totals_exist(
        a, now, lambda act, items: sa.func.sum(act.c.reposts) * den >= items * num
    )


def _orphaned(a: Any, now: datetime) -> sa.ColumnElement[bool]:
    people = PersonModel.__table__
    owner_left = (
        sa.select(sa.literal(1))
        .where(people.c.id == a.c.owner_id, people.c.status == "left")
        .correlate(a)
        .exists()
    )
    return sa.and_(
        a.c.status.in_(("active", "suspended")), sa.or_(a.c.owner_id.is_(None), owner_left)
    )


def _lacks_overdue_signoff(a: Any, person_id: Any, now: datetime) -> sa.ColumnElement[bool]:
    g = GUIDELINES.alias()
    grace_cutoff = _force_setting_cutoff(a, Force.__table__.c.signoff_grace_days, now)
    return (
        sa.exists()
        .where(
            in_scope_of(g, a.c.force_id),
            is_current(g, now),
            g.c.effective_from < grace_cutoff,
            ~has_accepted_signoff(person_id, g),
        )
        .correlate_except(g)
    )


def _guidelines_outstanding(a: Any, now: datetime) -> sa.ColumnElement[bool]:
    people = PersonModel.__table__.alias()
    owner_lacks = (
        sa.select(sa.literal(1))
        .where(
            people.c.id == a.c.owner_id,
            people.c.status == "active",
            _lacks_overdue_signoff(a, people.c.id, now),
        )
        .correlate(a)
        .exists()
    )
    cust = Custodianship.__table__
    editor = PersonModel.__table__.alias()
    editor_lacks = (
        sa.select(sa.literal(1))
        .select_from(cust.join(editor, editor.c.id == cust.c.person_id))
        .where(
            cust.c.account_id == a.c.id,
            cust.c.role == "editor",
            cust.c.valid_to.is_(None),
            editor.c.status == "active",
            _lacks_overdue_signoff(a, editor.c.id, now),
        )
        .correlate(a)
        .exists()
    )
    return sa.and_(_live(a), sa.or_(owner_lacks, editor_lacks))


def _no_strategy_link(a: Any, now: datetime) -> sa.ColumnElement[bool]:
    link = AccountObjective.__table__
    objective = Objective.__table__
    has_active = (
        sa.select(sa.literal(1))
        .select_from(link.join(objective, objective.c.id == link.c.objective_id))
        .where(link.c.account_id == a.c.id, objective.c.active.is_(True))
        .correlate(a)
        .exists()
    )
    return sa.and_(
        a.c.classification.in_(("corporate", "official")), a.c.status == "active", ~has_active
    )


def _review_overdue(a: Any, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_live(a), a.c.review_due_on.is_not(None), a.c.review_due_on < now.date())


def _unsanctioned(a: Any, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(a.c.classification == "unofficial", a.c.status == "active")


_BUILDERS: dict[str, Callable[[Any, datetime], sa.ColumnElement[bool]]] = {
    "dormant": _dormant,
    "broadcast_only": _broadcast_only,
    "repost_heavy": _repost_heavy,
    "orphaned": _orphaned,
    "guidelines_outstanding": _guidelines_outstanding,
    "no_strategy_link": _no_strategy_link,
    "review_overdue": _review_overdue,
    "unsanctioned": _unsanctioned,
}
assert tuple(_BUILDERS) == FLAGS


def flag_expression(flag: str, now: datetime, *, table: Any = None) -> sa.ColumnElement[bool]:
    """`flag` as a boolean SQL expression over `accounts` (or an alias of it, via `table`)."""
    builder = _BUILDERS.get(flag)
    if builder is None:
        raise ValueError(f"unknown flag {flag!r}")
    # Each builder is written never to yield NULL, so the planner sees plain predicates.
    return builder(ACCOUNTS if table is None else table, now)


def flag_columns(now: datetime, *, table: Any = None) -> list[sa.Label[bool]]:
    return [flag_expression(flag, now, table=table).label(f"flag_{flag}") for flag in FLAGS]


def flags_of(row: Any) -> list[str]:
    return [flag for flag in FLAGS if getattr(row, f"flag_{flag}", False)]
