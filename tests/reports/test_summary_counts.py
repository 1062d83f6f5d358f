"""The summary's flag counts with the real flag rules: each must equal the number of live
accounts the flag's own filter (both SQL forms) selects, and compliance_rate must match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app import clock
from app.auth.principal import Principal
from app.compliance.flags import flag_expression
from app.models import Account
from app.models.enums import FLAGS, RELEASED_STATUSES
from app.reports.service import summary
from tests.factories import (
    make_account,
    make_activity,
    make_force,
    make_guideline,
    make_objective,
    make_person,
    sign,
)

SUMMARY = "/api/v1/reports/summary"
T = datetime(2026, 6, 15, 12, tzinfo=UTC)
TODAY = T.date()


async def _world(session):
    """Two forces with accounts raising every flag, some several, some closed."""
    clock.freeze(T)
    staffs = await make_force(session, "staffs", dormancy_days=30, signoff_grace_days=0)
    wmids = await make_force(session, "wmids", dormancy_days=90, signoff_grace_days=0)
    national = await make_guideline(session, effective_from=T - timedelta(days=5))
    local = await make_guideline(
        session, staffs, code="local", effective_from=T - timedelta(days=5)
    )
    posted = T - timedelta(days=40)  # dormant in staffs (30 days), not in wmids (90)
    start = TODAY - timedelta(days=20)
    for force in (staffs, wmids):
        signed = await make_person(session, force)
        await sign(session, signed, national)
        await sign(session, signed, local)
        unsigned = await make_person(session, force)
        leaver = await make_person(session, force, status="left", left_on=TODAY)
        objective = await make_objective(session, force)
        linked = (objective,)
        await make_account(session, force, owner=signed, objectives=linked, last_post_at=T)
        await make_account(session, force, owner=signed, objectives=linked, last_post_at=posted)
        broadcast = await make_account(session, force, owner=signed, objectives=linked)
        await make_activity(session, broadcast, start, TODAY, original_posts=30)
        reposts = await make_account(session, force, owner=signed, status="suspended")
        await make_activity(session, reposts, start, TODAY, reposts=9, replies=1)
        await make_account(session, force, owner=leaver, classification="unofficial")
        # An unofficial account with the official handle's skeleton (imitates_official).
        await make_account(
            session, force, owner=signed, platform="instagram", classification="unofficial",
            handle=f"{force.code}_police", last_post_at=T,
        )  # fmt: skip
        await make_account(
            session, force, owner=signed, objectives=linked, handle=f"{force.code}police",
            last_post_at=T, classification="corporate",
        )  # fmt: skip
        await make_account(session, force, owner=unsigned, objectives=linked, last_post_at=T)
        await make_account(
            session, force, owner=signed, editors=(unsigned,), review_due_on=TODAY - timedelta(1)
        )
        closed = await make_account(session, force, status="decommissioned", last_post_at=posted)
        await make_activity(session, closed, start, TODAY, original_posts=30)
        await make_account(session, force, classification="corporate", status="pending_approval")
    return {"staffs": staffs.id, "wmids": wmids.id}


async def _filtered(session, flag: str, force_id, *, per_row: bool) -> int:
    return await session.scalar(
        sa.select(sa.func.count())
        .select_from(Account)
        .where(
            Account.force_id == force_id,
            Account.status.not_in(RELEASED_STATUSES),
            flag_expression(flag, clock.now(), per_row=per_row),
        )
    )


async def test_summary_counts_match_each_flags_own_filter(client, tokens, session):
    forces = await _world(session)
    r = await client.get(SUMMARY, headers=tokens.headers("admin", force=None))
    assert r.status_code == 200, r.text
    rows = {row["force"]: row for row in r.json()["forces"]}
    for code, force_id in forces.items():
        row = rows[code]
        for flag in FLAGS:
            expected = await _filtered(session, flag, force_id, per_row=False)
            assert row["by_flag"][flag] == expected, (code, flag)
            assert await _filtered(session, flag, force_id, per_row=True) == expected
        clean = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Account)
            .where(
                Account.force_id == force_id,
                Account.status.not_in(RELEASED_STATUSES),
                sa.not_(sa.or_(*[flag_expression(f, clock.now()) for f in FLAGS])),
            )
        )
        assert row["compliance_rate"] == round(clean / row["live"], 4)
    # The world raises every flag somewhere, and staffs' stricter dormancy shows.
    assert all(rows["staffs"]["by_flag"][f] > 0 for f in FLAGS)
    assert rows["staffs"]["by_flag"]["dormant"] > rows["wmids"]["by_flag"]["dormant"]


async def test_summary_split_between_concurrent_statements_adds_up_to_one(session, db):
    # On PostgreSQL, parts > 1 runs one statement per share of the forces on connections of
    # their own, on one exported snapshot; the answer must not depend on the split.
    forces = await _world(session)
    third = await make_force(session, "norfolk", dormancy_days=10)
    await make_account(session, third, last_post_at=T - timedelta(days=11))
    await session.commit()
    admin = Principal(sub="a", name=None, roles=frozenset({"admin"}), force=None, force_id=None)
    answers = [
        [row.model_dump() for row in await summary(session, db, admin, None, parts)]
        for parts in (1, 2, 3, 8)
    ]
    assert all(answer == answers[0] for answer in answers[1:])
    assert [row["force"] for row in answers[0]] == ["norfolk", "staffs", "wmids"]
    assert answers[0][0]["by_flag"]["dormant"] == 1
    assert set(forces) == {"staffs", "wmids"}
