"""The compliance and health flags of SPEC §7 as SQL expressions over `accounts`.

- `flag_expression(flag, now)`: a boolean SQL expression over `Account`, usable in WHERE
  (`GET /accounts?flag=`) and in SELECT.
- `flag_columns(now)`: every flag as a labelled column, in FLAGS order.
- `flags_of(row)`: the names of the flags that are true in a row selected with them.

Each flag has two equivalent SQL forms (the tests hold them to the same answers):
- per row (`per_row=True`): EXISTS / scalar subqueries correlated to the account, the
  force's settings read by a correlated subquery on `forces`. Cheap for a page of
  accounts (also as a page's filter: the scan stops at the page's limit), but every row
  pays for its own subqueries.
- per set (`per_row=False`): `accounts.id IN (<one uncorrelated query>)`, which the
  database evaluates once per statement (a semi-join in WHERE, a hashed subplan in
  SELECT). The form for aggregates over many accounts: at 100,000 accounts it is tens
  to hundreds of times faster than the per-row form.
`flag_expression` defaults to the set form, `flag_columns` to the per-row form.

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
- imitates_official: a live unofficial account whose handle is the `same` as an active
  official or corporate account's by app.lookalikes.skeleton (equal look-alike keys, or
  one's stem the other's key: confusable characters, separators, digits added/removed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from app.compliance.sqltime import days_before, instant
from app.guidelines.rules import (
    GUIDELINES,
    SIGNOFFS,
    in_scope_of,
    is_current,
    satisfying_versions,
)
from app.lookalikes.skeleton import MIN_STEM
from app.models import Account, AccountObjective, ActivityPeriod, Custodianship, Force, Objective
from app.models import Person as PersonModel
from app.models.base import UTCDateTime
from app.models.enums import FLAGS, RELEASED_STATUSES

ACCOUNTS = Account.__table__
FORCES = Force.__table__
PEOPLE = PersonModel.__table__
CUSTODIANSHIPS = Custodianship.__table__
ACTIVITY_WINDOW_DAYS = 90
MIN_ITEMS = 10
# Shares as integer fractions: replies < 1/20 of items, reposts >= 4/5 of items.
BROADCAST_REPLIES = (1, 20)
REPOST_HEAVY = (4, 5)


@dataclass(frozen=True)
class FlagTime:
    """The instants the flags are judged against, as SQL: fixed values (`at(now)`), or
    bound parameters (`BOUND`) so that one statement, built once, serves every request;
    execute it with `bound_values(now)`."""

    now: Any
    today: Any
    window_start: Any
    # Optional: the forces whose accounts a statement asks about (an expression for
    # `force_id.in_(...)`). The set forms then look at those forces' accounts only, so
    # a report split by forces splits the sets' work too. None: every force.
    forces: Any = None
    # Optional: the `forces` table (or alias) joined to the accounts in the statement, on
    # their force. Flags that read a force setting then read it from the joined row
    # instead of a subquery of their own.
    joined_force: Any = None


def activity_window_start(now: datetime) -> Any:
    return now.date() - timedelta(days=ACTIVITY_WINDOW_DAYS)


def at(now: datetime) -> FlagTime:
    return FlagTime(
        now=instant(now),
        today=sa.literal(now.date(), sa.Date()),
        window_start=sa.literal(activity_window_start(now), sa.Date()),
    )


BOUND = FlagTime(
    now=sa.bindparam("flag_now", type_=UTCDateTime()),
    today=sa.bindparam("flag_today", type_=sa.Date()),
    window_start=sa.bindparam("flag_window_start", type_=sa.Date()),
)


def bound_values(now: datetime) -> dict[str, Any]:
    """Parameters for a statement built with `BOUND`."""
    return {
        "flag_now": now,
        "flag_today": now.date(),
        "flag_window_start": activity_window_start(now),
    }


def _force_setting_cutoff(a: Any, setting: str, t: FlagTime) -> Any:
    """now minus the account's force's `setting` days: read from the force row joined in
    the statement (`t.joined_force`), else by a correlated scalar subquery."""
    if t.joined_force is not None:
        return days_before(t.now, t.joined_force.c[setting])
    forces = Force.__table__
    return (
        sa.select(days_before(t.now, forces.c[setting]))
        .where(forces.c.id == a.c.force_id)
        .correlate_except(forces)
        .scalar_subquery()
    )


def _of_forces(force_id: Any, t: FlagTime) -> list[sa.ColumnElement[bool]]:
    """The WHERE clause keeping a set form's own scan to `t.forces` (none when unset)."""
    return [] if t.forces is None else [force_id.in_(t.forces)]


def _live(a: sa.FromClause) -> sa.ColumnElement[bool]:
    return a.c.status.not_in(RELEASED_STATUSES)


# --- per row: subqueries correlated to the account -----------------------------------


def _dormant(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    cutoff = _force_setting_cutoff(a, "dormancy_days", t)
    return sa.and_(
        a.c.status == "active", sa.func.coalesce(a.c.last_post_at, a.c.created_at) < cutoff
    )


def _activity_totals_exist(
    a: Any, t: FlagTime, share: Callable[[Any, Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[bool]:
    act = ActivityPeriod.__table__
    items = sa.func.sum(act.c.original_posts + act.c.reposts + act.c.replies)
    # One group (this account's window), kept only when the totals meet the condition.
    return (
        sa.select(act.c.account_id)
        .where(act.c.account_id == a.c.id, act.c.period_end >= t.window_start)
        .group_by(act.c.account_id)
        .having(sa.and_(items >= MIN_ITEMS, share(act, items)))
        .correlate(a)
        .exists()
    )


def _broadcast_only(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    num, den = BROADCAST_REPLIES
    return _activity_totals_exist(
        a, t, lambda act, items: sa.func.sum(act.c.replies) * den < items * num
    )


def _repost_heavy(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    num, den = REPOST_HEAVY
    return _activity_totals_exist(
        a, t, lambda act, items: sa.func.sum(act.c.reposts) * den >= items * num
    )


def _orphaned(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    # A scalar subquery, not EXISTS: PostgreSQL may turn an EXISTS into a hashed scan of
    # every leaver, which costs a page of accounts more than 50 key lookups.
    people = PEOPLE.alias()
    owner_status = (
        sa.select(people.c.status).where(people.c.id == a.c.owner_id).correlate(a).scalar_subquery()
    )
    return sa.and_(
        a.c.status.in_(("active", "suspended")),
        sa.or_(a.c.owner_id.is_(None), sa.func.coalesce(owner_status, "") == "left"),
    )


def _lacks_overdue_signoff(
    a: Any, person_id: Any, due: Any, satisfies: Any
) -> sa.ColumnElement[bool]:
    """A guideline due in the account's force (`due`, see _due_guidelines) that no sign-off
    of the person satisfies (`satisfies`: rules.satisfying_versions). Both are CTEs of a
    few rows, computed once per statement: each account then costs a scan of its force's
    due guidelines and a key lookup of the person's sign-off per satisfying version,
    instead of judging every guideline version's currency and scope again per row."""
    s = SIGNOFFS.alias()
    signed = (
        sa.exists()
        .select_from(satisfies.join(s, s.c.guideline_id == satisfies.c.signed_id))
        .where(satisfies.c.guideline_id == due.c.guideline_id, s.c.person_id == person_id)
        .correlate_except(satisfies, s)
    )
    return sa.exists().where(due.c.force_id == a.c.force_id, ~signed).correlate_except(due)


def _guidelines_outstanding(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    due = _due_guidelines(t)
    satisfies = satisfying_versions().cte().prefix_with("MATERIALIZED", dialect="sqlite")
    people = PersonModel.__table__.alias()
    owner_lacks = (
        sa.select(sa.literal(1))
        .where(
            people.c.id == a.c.owner_id,
            people.c.status == "active",
            _lacks_overdue_signoff(a, people.c.id, due, satisfies),
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
            _lacks_overdue_signoff(a, editor.c.id, due, satisfies),
        )
        .correlate(a)
        .exists()
    )
    return sa.and_(_live(a), sa.or_(owner_lacks, editor_lacks))


def _no_strategy_link(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    link = AccountObjective.__table__.alias()
    objective = Objective.__table__.alias()
    # The objective's `active` by a key lookup per link: as a join, PostgreSQL hashes the
    # account's links and scans every objective, for every account of a page.
    active = (
        sa.select(objective.c.active)
        .where(objective.c.id == link.c.objective_id)
        .correlate(link)
        .scalar_subquery()
    )
    # `(SELECT ... LIMIT 1) IS NULL` rather than NOT EXISTS, for the reason in _orphaned.
    some_active = (
        sa.select(sa.literal(1))
        .select_from(link)
        .where(link.c.account_id == a.c.id, active.is_(True))
        .limit(1)
        .correlate(a)
        .scalar_subquery()
    )
    return sa.and_(
        a.c.classification.in_(("corporate", "official")),
        a.c.status == "active",
        some_active.is_(None),
    )


def _review_overdue(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    return sa.and_(_live(a), a.c.review_due_on.is_not(None), a.c.review_due_on < t.today)


def _unsanctioned(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    return sa.and_(a.c.classification == "unofficial", a.c.status == "active")


def _imitator(a: Any) -> sa.ColumnElement[bool]:
    return sa.and_(a.c.classification == "unofficial", _live(a), a.c.lookalike_key != "")


def _public_account(o: Any) -> list[sa.ColumnElement[bool]]:
    return [o.c.status == "active", o.c.classification.in_(("corporate", "official"))]


def _imitates_official(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    official = ACCOUNTS.alias()
    same_form = sa.or_(*(sa.and_(*condition) for condition in _same_forms(a, official)))
    found = sa.select(sa.literal(1)).where(*_public_account(official), same_form).correlate(a)
    return sa.and_(_imitator(a), found.exists())


def _same_forms(a: Any, official: Any) -> list[list[sa.ColumnElement[bool]]]:
    """skeleton.same in SQL, one condition per way: equal keys, the imitator's stem is
    the official key (digits added), the imitator's key is the official stem (removed)."""
    return [
        [official.c.lookalike_key == a.c.lookalike_key],
        [
            sa.func.length(a.c.lookalike_stem) >= MIN_STEM,
            official.c.lookalike_key == a.c.lookalike_stem,
        ],
        [
            sa.func.length(a.c.lookalike_key) >= MIN_STEM,
            official.c.lookalike_stem == a.c.lookalike_key,
        ],
    ]


_PER_ROW: dict[str, Callable[[Any, FlagTime], sa.ColumnElement[bool]]] = {
    "dormant": _dormant,
    "broadcast_only": _broadcast_only,
    "repost_heavy": _repost_heavy,
    "orphaned": _orphaned,
    "guidelines_outstanding": _guidelines_outstanding,
    "no_strategy_link": _no_strategy_link,
    "review_overdue": _review_overdue,
    "unsanctioned": _unsanctioned,
    "imitates_official": _imitates_official,
}
assert tuple(_PER_ROW) == FLAGS


# --- per set: one uncorrelated query per flag ---------------------------------------


def _dormant_set(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    if t.joined_force is not None:  # no set needed: the force's setting is at hand
        return _dormant(a, t)
    other = ACCOUNTS.alias()
    f = FORCES.alias()
    dormant_ids = (
        sa.select(other.c.id)
        .join(f, f.c.id == other.c.force_id)
        .where(
            other.c.status == "active",
            sa.func.coalesce(other.c.last_post_at, other.c.created_at)
            < days_before(t.now, f.c.dormancy_days),
            *_of_forces(other.c.force_id, t),
        )
        .correlate(None)
    )
    return sa.and_(a.c.status == "active", a.c.id.in_(dormant_ids))


def _window_key(t: FlagTime) -> Any:
    """What identifies `t.window_start` across calls: its value, or a bound parameter's name."""
    start = t.window_start
    value = getattr(start, "value", None)
    return ("value", value) if value is not None else ("bound", getattr(start, "key", id(start)))


_TOTALS: dict[Any, sa.CTE] = {}


def _activity_totals(t: FlagTime) -> sa.CTE:
    """Each account's item totals over the window (accounts with fewer than MIN_ITEMS left
    out), as one CTE object per window, so that broadcast_only and repost_heavy in one
    statement refer to one CTE, computed once (PostgreSQL materialises a CTE referred to
    twice and inlines one referred to once, so a single flag's plan is unchanged)."""
    key = (_window_key(t), None if t.forces is None else id(t.forces))
    totals = _TOTALS.get(key)
    if totals is None:
        if len(_TOTALS) >= 16:
            _TOTALS.clear()
        act = ActivityPeriod.__table__.alias()
        items = sa.func.sum(act.c.original_posts + act.c.reposts + act.c.replies)
        totals = _TOTALS[key] = (
            sa.select(
                act.c.account_id,
                items.label("total_items"),
                sa.func.sum(act.c.replies).label("total_replies"),
                sa.func.sum(act.c.reposts).label("total_reposts"),
            )
            .where(
                act.c.period_end >= t.window_start,
                *_of_forces(act.c.force_id, t),  # activity rows carry their account's force
            )
            .group_by(act.c.account_id)
            .having(items >= MIN_ITEMS)
            .cte()
        )
    return totals


def _activity_set(
    a: sa.FromClause, t: FlagTime, share: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[bool]:
    totals = _activity_totals(t)
    return a.c.id.in_(sa.select(totals.c.account_id).where(share(totals)).correlate(None))


def _broadcast_only_set(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    num, den = BROADCAST_REPLIES
    return _activity_set(
        a, t, lambda totals: totals.c.total_replies * den < totals.c.total_items * num
    )


def _repost_heavy_set(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    num, den = REPOST_HEAVY
    return _activity_set(
        a, t, lambda totals: totals.c.total_reposts * den >= totals.c.total_items * num
    )


def _leavers() -> sa.Select[*tuple[Any, ...]]:
    # Not a shared CTE: PostgreSQL cannot run a plan reading a CTE in parallel, and the
    # partial index ix_people_leavers makes each use a small index-only scan.
    leaver = PEOPLE.alias()
    return sa.select(leaver.c.id).where(leaver.c.status == "left").correlate(None)


def _orphaned_set(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    return sa.and_(
        a.c.status.in_(("active", "suspended")),
        sa.or_(a.c.owner_id.is_(None), a.c.owner_id.in_(_leavers())),
    )


def _due_guidelines(t: FlagTime) -> Any:
    """(force_id, guideline_id): per force, the current guidelines past its grace period.
    A few rows per force, so operators join it on an equality instead of testing every
    guideline's scope."""
    f = FORCES.alias()
    g = GUIDELINES.alias()
    return (
        sa.select(f.c.id.label("force_id"), g.c.id.label("guideline_id"))
        .select_from(f.join(g, in_scope_of(g, f.c.id)))
        .where(
            is_current(g, t.now),
            g.c.effective_from < days_before(t.now, f.c.signoff_grace_days),
        )
        .cte()
        .prefix_with("MATERIALIZED", dialect="sqlite")
    )


def _signed(t: FlagTime) -> Any:
    """(person_id, guideline_id): each sign-off, with every current version it satisfies
    (sign-offs of superseded versions only are left out: no current guideline needs them)."""
    s = SIGNOFFS.alias()
    satisfies = satisfying_versions().subquery()
    current = GUIDELINES.alias()
    return (
        sa.select(s.c.person_id, satisfies.c.guideline_id)
        .join(satisfies, satisfies.c.signed_id == s.c.guideline_id)
        .join(current, current.c.id == satisfies.c.guideline_id)
        .where(is_current(current, t.now))
        .subquery()
    )


def _guidelines_outstanding_set(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    # (account, operator, guideline due): owners and open editors of live accounts, still
    # active, joined to their account's force's due guidelines (each side of the UNION on
    # accounts.force_id, whose statistics the planner knows).
    owned = ACCOUNTS.alias()
    due = _due_guidelines(t)
    owners = (
        sa.select(
            owned.c.id.label("account_id"),
            owned.c.owner_id.label("person_id"),
            due.c.guideline_id,
        )
        .join(due, due.c.force_id == owned.c.force_id)
        .where(
            owned.c.owner_id.is_not(None),
            _live(owned),
            owned.c.owner_id.not_in(_leavers()),
            *_of_forces(owned.c.force_id, t),
        )
    )
    edited = ACCOUNTS.alias()
    cust = CUSTODIANSHIPS.alias()
    due = _due_guidelines(t)
    editors = (
        sa.select(cust.c.account_id, cust.c.person_id, due.c.guideline_id)
        .join(edited, edited.c.id == cust.c.account_id)
        .join(due, due.c.force_id == edited.c.force_id)
        .where(
            cust.c.role == "editor",
            cust.c.valid_to.is_(None),
            _live(edited),
            cust.c.person_id.not_in(_leavers()),
            *_of_forces(edited.c.force_id, t),
        )
    )
    pending = sa.union_all(owners, editors).subquery()
    signed = _signed(t)
    held = sa.exists().where(
        signed.c.person_id == pending.c.person_id,
        signed.c.guideline_id == pending.c.guideline_id,
    )
    ids = sa.select(pending.c.account_id).where(~held).correlate(None)
    return sa.and_(_live(a), a.c.id.in_(ids))


def _no_strategy_link_set(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    link = AccountObjective.__table__.alias()
    objective = Objective.__table__.alias()
    linked = (
        sa.select(link.c.account_id)
        .join(objective, objective.c.id == link.c.objective_id)
        .where(objective.c.active.is_(True))
        .correlate(None)
    )
    return sa.and_(
        a.c.classification.in_(("corporate", "official")),
        a.c.status == "active",
        a.c.id.not_in(linked),
    )


def _imitates_official_set(a: Any, t: FlagTime) -> sa.ColumnElement[bool]:
    # One join per way (an OR in a join condition defeats the indexes).
    sides = []
    for way in range(3):
        imitator, official = ACCOUNTS.alias(), ACCOUNTS.alias()
        sides.append(
            sa.select(imitator.c.id)
            .join(official, sa.and_(*_same_forms(imitator, official)[way]))
            .where(
                _imitator(imitator),
                *_public_account(official),
                *_of_forces(imitator.c.force_id, t),
            )
        )
    ids = sa.union_all(*sides).subquery()
    return sa.and_(_imitator(a), a.c.id.in_(sa.select(ids.c.id).correlate(None)))


_PER_SET: dict[str, Callable[[Any, FlagTime], sa.ColumnElement[bool]]] = {
    "dormant": _dormant_set,
    "broadcast_only": _broadcast_only_set,
    "repost_heavy": _repost_heavy_set,
    "orphaned": _orphaned_set,
    "guidelines_outstanding": _guidelines_outstanding_set,
    "no_strategy_link": _no_strategy_link_set,
    "review_overdue": _review_overdue,
    "unsanctioned": _unsanctioned,
    "imitates_official": _imitates_official_set,
}
assert tuple(_PER_SET) == FLAGS


def flag_expression(
    flag: str, now: datetime | FlagTime, *, table: Any = None, per_row: bool = False
) -> sa.ColumnElement[bool]:
    """`flag` as a boolean SQL expression over `accounts` (or an alias of it, via `table`).

    The set form by default: right for aggregates over many rows. `per_row=True` for a
    page (in SELECT, or in WHERE under a LIMIT).
    """
    builders = _PER_ROW if per_row else _PER_SET
    builder = builders.get(flag)
    if builder is None:
        raise ValueError(f"unknown flag {flag!r}")
    # Each builder is written never to yield NULL, so the planner sees plain predicates.
    t = now if isinstance(now, FlagTime) else at(now)
    return builder(ACCOUNTS if table is None else table, t)


def flag_columns(
    now: datetime | FlagTime, *, table: Any = None, per_row: bool = True
) -> list[sa.Label[bool]]:
    """Every flag as a `flag_<name>` column. Per row by default: right for a page of
    accounts; pass `per_row=False` when selecting thousands."""
    return [
        flag_expression(flag, now, table=table, per_row=per_row).label(f"flag_{flag}")
        for flag in FLAGS
    ]


_COLUMNS = tuple((flag, f"flag_{flag}") for flag in FLAGS)


def flags_of(row: Mapping[str, Any] | RowMapping) -> list[str]:
    """The flags true in a row (a mapping) selected with `flag_columns`."""
    return [flag for flag, column in _COLUMNS if row[column]]
