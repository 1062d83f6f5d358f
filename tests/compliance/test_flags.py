"""Each flag of SPEC §7, checked through SQL on both sides of its boundary.

`check` reads the flag in every form — as a column (flag_columns / flags_of) and as a
WHERE filter (flag_expression), per row and per set, with the account's force row joined
in the statement and without — and insists all agree.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from app import clock
from app.compliance.flags import at, flag_columns, flag_expression, flags_of
from app.models import Account, Custodianship, Force
from tests.factories import (
    make_account,
    make_activity,
    make_force,
    make_guideline,
    make_objective,
    make_person,
    sign,
)

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = T.date()


def _time(joined: bool):
    t = at(clock.now())
    return dataclasses.replace(t, joined_force=Force.__table__) if joined else t


def _select(*columns, joined: bool):
    query = sa.select(Account.id, *columns)
    return query.join(Force, Force.id == Account.force_id) if joined else query


async def flags(session, account, per_row=True, joined=False) -> set[str]:
    columns = flag_columns(_time(joined), per_row=per_row)
    query = _select(*columns, joined=joined).where(Account.id == account.id)
    row = (await session.execute(query)).one()
    return set(flags_of(row._mapping))


async def filtered(session, flag, per_row=False, joined=False) -> set:
    where = flag_expression(flag, _time(joined), per_row=per_row)
    rows = await session.execute(_select(joined=joined).where(where))
    return {r.id for r in rows}


async def check(session, account, flag) -> bool:
    """The flag by every SQL form, as a column and as a filter: all must agree."""
    answers = {}
    for joined in (False, True):
        for per_row in (True, False):
            form = f"{'row' if per_row else 'set'}{', force joined' if joined else ''}"
            answers[f"column per {form}"] = flag in await flags(
                session, account, per_row=per_row, joined=joined
            )
            answers[f"filter per {form}"] = account.id in await filtered(
                session, flag, per_row=per_row, joined=joined
            )
    await session.commit()
    assert len(set(answers.values())) == 1, f"{flag}: {answers}"
    return answers["column per row"]


# --- dormant -------------------------------------------------------------------


async def test_dormant_after_more_than_dormancy_days_without_a_post(session):
    clock.freeze(T)
    force = await make_force(session, dormancy_days=90)
    day_89 = await make_account(session, force, last_post_at=T - timedelta(days=89))
    exactly_90 = await make_account(session, force, last_post_at=T - timedelta(days=90))
    just_over = await make_account(
        session, force, last_post_at=T - timedelta(days=90, microseconds=1)
    )
    day_91 = await make_account(session, force, last_post_at=T - timedelta(days=91))
    assert not await check(session, day_89, "dormant")
    assert not await check(session, exactly_90, "dormant")
    assert await check(session, just_over, "dormant")
    assert await check(session, day_91, "dormant")


async def test_dormant_clears_when_the_clock_is_a_day_earlier(session):
    force = await make_force(session, dormancy_days=90)
    account = await make_account(session, force, last_post_at=T - timedelta(days=91))
    clock.freeze(T)
    assert await check(session, account, "dormant")
    clock.freeze(T - timedelta(days=2))
    assert not await check(session, account, "dormant")


async def test_never_posted_account_is_dormant_once_registered_longer_than_the_setting(session):
    clock.freeze(T)
    force = await make_force(session, dormancy_days=30)
    new = await make_account(session, force, since=T - timedelta(days=29))
    old = await make_account(session, force, since=T - timedelta(days=31))
    assert not await check(session, new, "dormant")
    assert await check(session, old, "dormant")


async def test_dormant_uses_each_accounts_own_force_setting_and_only_active_accounts(session):
    clock.freeze(T)
    strict = await make_force(session, "strict", dormancy_days=10)
    relaxed = await make_force(session, "relaxed", dormancy_days=100)
    last = T - timedelta(days=50)
    in_strict = await make_account(session, strict, last_post_at=last)
    in_relaxed = await make_account(session, relaxed, last_post_at=last)
    suspended = await make_account(session, strict, last_post_at=last, status="suspended")
    assert await check(session, in_strict, "dormant")
    assert not await check(session, in_relaxed, "dormant")
    assert not await check(session, suspended, "dormant")


# --- broadcast_only / repost_heavy ---------------------------------------------


async def test_broadcast_only_needs_at_least_ten_items(session):
    clock.freeze(T)
    force = await make_force(session)
    nine = await make_account(session, force)
    ten = await make_account(session, force)
    await make_activity(session, nine, TODAY - timedelta(days=30), TODAY, original_posts=9)
    await make_activity(session, ten, TODAY - timedelta(days=30), TODAY, original_posts=10)
    assert not await check(session, nine, "broadcast_only")
    assert await check(session, ten, "broadcast_only")


async def test_broadcast_only_when_replies_are_under_five_percent(session):
    clock.freeze(T)
    force = await make_force(session)
    exactly_5 = await make_account(session, force)  # 1 reply in 20 items = 5 %
    under_5 = await make_account(session, force)  # 1 reply in 21 items = 4.76 %
    start = TODAY - timedelta(days=10)
    await make_activity(session, exactly_5, start, TODAY, original_posts=19, replies=1)
    await make_activity(session, under_5, start, TODAY, original_posts=20, replies=1)
    assert not await check(session, exactly_5, "broadcast_only")
    assert await check(session, under_5, "broadcast_only")


async def test_activity_window_counts_periods_ending_on_or_after_today_minus_90_days(session):
    clock.freeze(T)
    force = await make_force(session)
    inside = await make_account(session, force)
    outside = await make_account(session, force)
    edge = TODAY - timedelta(days=90)
    await make_activity(session, inside, edge - timedelta(days=29), edge, original_posts=12)
    await make_activity(
        session, outside, edge - timedelta(days=30), edge - timedelta(days=1), original_posts=12
    )
    assert await check(session, inside, "broadcast_only")
    assert not await check(session, outside, "broadcast_only")


async def test_broadcast_sums_every_period_in_the_window(session):
    clock.freeze(T)
    force = await make_force(session)
    account = await make_account(session, force)
    await make_activity(
        session, account, date(2026, 4, 1), date(2026, 4, 30), original_posts=5, replies=1
    )
    await make_activity(session, account, date(2026, 5, 1), date(2026, 5, 31), original_posts=5)
    # 11 items, 1 reply = 9 %: conversational enough.
    assert not await check(session, account, "broadcast_only")
    await make_activity(session, account, date(2026, 6, 1), date(2026, 6, 14), original_posts=10)
    # 21 items, 1 reply = 4.8 %.
    assert await check(session, account, "broadcast_only")


async def test_repost_heavy_at_exactly_eighty_percent_of_ten_items(session):
    clock.freeze(T)
    force = await make_force(session)
    eighty = await make_account(session, force)
    seventy_nine = await make_account(session, force)
    nine_items = await make_account(session, force)
    start = TODAY - timedelta(days=20)
    await make_activity(session, eighty, start, TODAY, original_posts=1, reposts=8, replies=1)
    await make_activity(
        session, seventy_nine, start, TODAY, original_posts=11, reposts=79, replies=10
    )
    await make_activity(session, nine_items, start, TODAY, reposts=9)
    assert await check(session, eighty, "repost_heavy")
    assert not await check(session, seventy_nine, "repost_heavy")
    assert not await check(session, nine_items, "repost_heavy")


# --- orphaned --------------------------------------------------------------------


async def test_orphaned_when_the_owner_leaves(session):
    clock.freeze(T)
    force = await make_force(session)
    owner = await make_person(session, force)
    account = await make_account(session, force, owner=owner)
    assert not await check(session, account, "orphaned")
    owner.status = "left"
    owner.left_on = TODAY
    await session.commit()
    assert await check(session, account, "orphaned")


async def test_orphaned_without_owner_only_while_active_or_suspended(session):
    clock.freeze(T)
    force = await make_force(session)
    active = await make_account(session, force, classification="corporate")
    suspended = await make_account(session, force, status="suspended")
    pending = await make_account(session, force, status="pending_approval")
    closed = await make_account(session, force, status="decommissioned")
    assert await check(session, active, "orphaned")
    assert await check(session, suspended, "orphaned")
    assert not await check(session, pending, "orphaned")
    assert not await check(session, closed, "orphaned")


# --- guidelines_outstanding ------------------------------------------------------


async def test_guidelines_outstanding_only_after_the_grace_period(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=30)
    owner = await make_person(session, force)
    account = await make_account(session, force, owner=owner)
    await make_guideline(session, effective_from=T - timedelta(days=30))
    assert not await check(session, account, "guidelines_outstanding")
    clock.freeze(T + timedelta(microseconds=1))
    assert await check(session, account, "guidelines_outstanding")


async def test_signing_the_current_version_clears_guidelines_outstanding(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=0)
    owner = await make_person(session, force)
    account = await make_account(session, force, owner=owner)
    guideline = await make_guideline(session, force, effective_from=T - timedelta(days=1))
    assert await check(session, account, "guidelines_outstanding")
    await sign(session, owner, guideline)
    assert not await check(session, account, "guidelines_outstanding")


async def test_a_version_without_requires_resign_accepts_an_earlier_signoff(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=0)
    owner = await make_person(session, force)
    account = await make_account(session, force, owner=owner)
    v1 = await make_guideline(session, version=1, effective_from=T - timedelta(days=100))
    await sign(session, owner, v1)
    await make_guideline(
        session, version=2, requires_resign=False, effective_from=T - timedelta(days=10)
    )
    assert not await check(session, account, "guidelines_outstanding")


async def test_a_version_requiring_resign_rejects_earlier_signoffs(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=0)
    owner = await make_person(session, force)
    account = await make_account(session, force, owner=owner)
    v1 = await make_guideline(session, version=1, effective_from=T - timedelta(days=100))
    await sign(session, owner, v1)
    await make_guideline(
        session, version=2, requires_resign=True, effective_from=T - timedelta(days=10)
    )
    assert await check(session, account, "guidelines_outstanding")


async def test_a_minor_version_does_not_revive_a_signoff_made_before_a_resign_version(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=0)
    owner = await make_person(session, force)
    account = await make_account(session, force, owner=owner)
    v1 = await make_guideline(session, version=1, effective_from=T - timedelta(days=100))
    v2 = await make_guideline(session, version=2, effective_from=T - timedelta(days=50))
    await make_guideline(
        session, version=3, requires_resign=False, effective_from=T - timedelta(days=10)
    )
    await sign(session, owner, v1)
    assert await check(session, account, "guidelines_outstanding")
    await sign(session, owner, v2)
    assert not await check(session, account, "guidelines_outstanding")


async def test_a_future_version_is_not_yet_current(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=0)
    owner = await make_person(session, force)
    account = await make_account(session, force, owner=owner)
    v1 = await make_guideline(session, version=1, effective_from=T - timedelta(days=100))
    await sign(session, owner, v1)
    await make_guideline(session, version=2, effective_from=T + timedelta(days=1))
    assert not await check(session, account, "guidelines_outstanding")
    clock.freeze(T + timedelta(days=2))
    assert await check(session, account, "guidelines_outstanding")


async def test_an_open_editor_without_a_signoff_raises_guidelines_outstanding(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=0)
    owner = await make_person(session, force)
    editor = await make_person(session, force)
    guideline = await make_guideline(session, force, effective_from=T - timedelta(days=5))
    await sign(session, owner, guideline)
    account = await make_account(session, force, owner=owner, editors=(editor,))
    assert await check(session, account, "guidelines_outstanding")
    link = await session.scalar(
        sa.select(Custodianship).where(Custodianship.person_id == editor.id)
    )
    link.valid_to = T
    await session.commit()
    assert not await check(session, account, "guidelines_outstanding")


async def test_another_forces_guideline_does_not_apply(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=0)
    other = await make_force(session, "other")
    owner = await make_person(session, force)
    account = await make_account(session, force, owner=owner)
    await make_guideline(session, other, effective_from=T - timedelta(days=5))
    assert not await check(session, account, "guidelines_outstanding")


# --- no_strategy_link, review_overdue, unsanctioned -----------------------------


async def test_no_strategy_link_needs_an_active_objective(session):
    clock.freeze(T)
    force = await make_force(session)
    live = await make_objective(session, force)
    retired = await make_objective(session, force, active=False)
    linked = await make_account(session, force, objectives=(live,))
    retired_only = await make_account(session, force, objectives=(retired,))
    bare = await make_account(session, force, classification="corporate")
    unofficial = await make_account(session, force, classification="unofficial")
    assert not await check(session, linked, "no_strategy_link")
    assert await check(session, retired_only, "no_strategy_link")
    assert await check(session, bare, "no_strategy_link")
    assert not await check(session, unofficial, "no_strategy_link")


async def test_review_overdue_from_the_day_after_the_due_date(session):
    clock.freeze(T)
    force = await make_force(session)
    due_today = await make_account(session, force, review_due_on=TODAY)
    due_yesterday = await make_account(session, force, review_due_on=TODAY - timedelta(days=1))
    no_date = await make_account(session, force)
    assert not await check(session, due_today, "review_overdue")
    assert await check(session, due_yesterday, "review_overdue")
    assert not await check(session, no_date, "review_overdue")


async def test_unsanctioned_is_an_active_unofficial_account(session):
    clock.freeze(T)
    force = await make_force(session)
    active = await make_account(session, force, classification="unofficial")
    pending = await make_account(
        session, force, classification="unofficial", status="pending_approval"
    )
    official = await make_account(session, force)
    assert await check(session, active, "unsanctioned")
    assert not await check(session, pending, "unsanctioned")
    assert not await check(session, official, "unsanctioned")


async def test_a_healthy_account_carries_no_flag(session):
    clock.freeze(T)
    force = await make_force(session)
    owner = await make_person(session, force)
    objective = await make_objective(session, force)
    guideline = await make_guideline(session)
    await sign(session, owner, guideline)
    account = await make_account(
        session,
        force,
        owner=owner,
        objectives=(objective,),
        last_post_at=T - timedelta(days=1),
        review_due_on=TODAY + timedelta(days=100),
    )
    await make_activity(
        session, account, TODAY - timedelta(days=30), TODAY, original_posts=10, replies=5
    )
    assert await flags(session, account) == set()
