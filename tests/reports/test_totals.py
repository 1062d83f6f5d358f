"""The summary served from per-force totals (PostgreSQL) equals a full recount after every
kind of change, and after time alone changes a flag; only the forces a change touched are
recounted. On SQLite the same checks pass through the recount path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Force, ReportStale, ReportTotals
from app.models.enums import FLAGS
from app.reports import repository, totals
from tests.factories import (
    make_account,
    make_force,
    make_guideline,
    make_objective,
    make_person,
    sign,
)

API = "/api/v1"
T = datetime(2026, 6, 15, 12, tzinfo=UTC)
TODAY = T.date()
LATER = T + timedelta(minutes=1)


def _norm(rows: Any) -> list[tuple[Any, ...]]:
    return sorted((str(r[0]), r[1], r[2], r[3], *(int(v or 0) for v in r[4:])) for r in rows)


async def _served(db: Any) -> tuple[list[tuple[Any, ...]], datetime]:
    """The summary's rows as served (totals where fresh) and, in the same call, a full
    recount with the summary statement over every force: they must be equal."""
    now = clock.now()
    async with db.session(write=False) as s:
        ids = list(await s.scalars(sa.select(Force.id)))
        served, as_of = await totals.summary_groups(s, db, ids, now, parts=2)
        counted = await repository._groups_of(s, ids, now)
    assert _norm(served) == _norm(counted)
    return _norm(served), as_of


def _flag(rows: list[tuple[Any, ...]], force_id: uuid.UUID, flag: str) -> int:
    i = 5 + FLAGS.index(flag)
    return sum(r[i] for r in rows if r[0] == str(force_id))


async def _computed(db: Any) -> dict[uuid.UUID, datetime]:
    async with db.session(write=False) as s:
        rows = await s.execute(sa.select(ReportTotals.force_id, ReportTotals.computed_at))
        return {r.force_id: r.computed_at for r in rows}


async def _marked(db: Any) -> set[uuid.UUID | None]:
    async with db.session(write=False) as s:
        return set(await s.scalars(sa.select(ReportStale.force_id)))


async def _world(session: Any) -> dict[str, Any]:
    clock.freeze(T)
    staffs = await make_force(session, "staffs", dormancy_days=30, signoff_grace_days=0)
    wmids = await make_force(session, "wmids", dormancy_days=90, signoff_grace_days=0)
    national = await make_guideline(session, effective_from=T - timedelta(days=5))
    local = await make_guideline(
        session, staffs, code="local", effective_from=T - timedelta(days=5)
    )
    alice = await make_person(session, staffs, subject="alice")
    bob = await make_person(session, staffs, subject="bob")
    carol = await make_person(session, wmids, subject="carol")
    for person in (alice, bob):
        await sign(session, person, national)
    await sign(session, bob, local)
    await sign(session, carol, national)
    a_obj = await make_objective(session, staffs, code="A1")
    b_obj = await make_objective(session, wmids, code="B1")
    official = await make_account(
        session, staffs, owner=alice, objectives=(a_obj,), handle="staffspolice",
        url="https://x.com/staffspolice", last_post_at=T,
    )  # fmt: skip
    bobs = await make_account(session, staffs, owner=bob, objectives=(a_obj,), last_post_at=T)
    # Dormant in staffs (30 days) an hour from now.
    soon = await make_account(
        session, staffs, owner=bob, objectives=(a_obj,),
        last_post_at=T - timedelta(days=30) + timedelta(hours=1),
    )  # fmt: skip
    await make_account(session, wmids, owner=carol, objectives=(b_obj,), last_post_at=T)
    # Review due today: overdue from tomorrow.
    await make_account(
        session, wmids, owner=carol, objectives=(b_obj,), last_post_at=T, review_due_on=TODAY
    )
    imitator = await make_account(
        session, wmids, owner=carol, classification="unofficial", handle="staffs_news",
        url="https://x.com/staffs_news", last_post_at=T,
    )  # fmt: skip
    await session.commit()
    return {
        "staffs": staffs, "wmids": wmids, "local": local, "alice": alice, "bob": bob,
        "official": official, "bobs": bobs, "soon": soon, "imitator": imitator,
    }  # fmt: skip


async def _patch_account(client: Any, tokens: Any, account_id: uuid.UUID, body: dict) -> None:
    url = f"{API}/accounts/{account_id}"
    headers = tokens.headers("comms_admin", force="staffs")
    etag = (await client.get(url, headers=headers)).headers["etag"]
    r = await client.patch(url, json=body, headers={**headers, "If-Match": etag})
    assert r.status_code == 200, r.text


async def _counted_once(db: Any, w: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows, _ = await _served(db)
    if not db.is_sqlite:
        assert await _computed(db) == {w["staffs"].id: T, w["wmids"].id: T}
        assert await _marked(db) == set()
    clock.freeze(LATER)
    return rows


async def _only_staffs_recounted(db: Any, w: dict[str, Any], as_of: datetime) -> None:
    if db.is_sqlite:
        return
    assert await _computed(db) == {w["staffs"].id: LATER, w["wmids"].id: T}
    assert as_of == T  # the oldest count served
    assert await _marked(db) == set()


async def test_account_edit_recounts_only_its_force(client, tokens, session, db):
    w = await _world(session)
    before = await _counted_once(db, w)
    await _patch_account(client, tokens, w["bobs"].id, {"objectives": []})
    if not db.is_sqlite:
        assert await _marked(db) == {w["staffs"].id}
    after, as_of = await _served(db)
    flag = "no_strategy_link"
    assert _flag(after, w["staffs"].id, flag) == _flag(before, w["staffs"].id, flag) + 1
    await _only_staffs_recounted(db, w, as_of)
    # Served again from the totals, unchanged.
    assert (await _served(db))[0] == after


async def test_official_handle_change_flags_an_imitator_in_another_force(
    client, tokens, session, db
):
    w = await _world(session)
    before = await _counted_once(db, w)
    assert _flag(before, w["wmids"].id, "imitates_official") == 0
    await _patch_account(client, tokens, w["official"].id, {"url": "https://x.com/staffsnews"})
    if not db.is_sqlite:
        assert None in await _marked(db)  # every force
    after, as_of = await _served(db)
    assert _flag(after, w["wmids"].id, "imitates_official") == 1
    if not db.is_sqlite:
        assert await _computed(db) == {w["staffs"].id: LATER, w["wmids"].id: LATER}
        assert as_of == LATER
        assert await _marked(db) == set()


async def test_national_guideline_published_recounts_every_force(client, tokens, session, db):
    w = await _world(session)
    before = await _counted_once(db, w)
    body = {
        "code": "new-rules", "title": "New rules", "document_url": "https://intranet.example/n.pdf",
        "sha256": "a" * 64, "effective_from": (T - timedelta(days=1)).isoformat(),
    }  # fmt: skip
    r = await client.post(
        f"{API}/guidelines", json=body, headers=tokens.headers("admin", force=None)
    )
    assert r.status_code == 201, r.text
    after, _ = await _served(db)
    for force in ("staffs", "wmids"):
        force_id = w[force].id
        assert _flag(after, force_id, "guidelines_outstanding") > _flag(
            before, force_id, "guidelines_outstanding"
        )
    if not db.is_sqlite:
        assert await _computed(db) == {w["staffs"].id: LATER, w["wmids"].id: LATER}


async def test_signoff_recounts_only_the_signers_force(client, tokens, session, db):
    w = await _world(session)
    before = await _counted_once(db, w)
    r = await client.post(
        f"{API}/guidelines/{w['local'].id}/signoffs",
        headers=tokens.headers("staff", force="staffs", sub="alice"),
    )
    assert r.status_code == 201, r.text
    if not db.is_sqlite:
        assert await _marked(db) == {w["staffs"].id}
    after, as_of = await _served(db)
    flag = "guidelines_outstanding"
    assert _flag(after, w["staffs"].id, flag) == _flag(before, w["staffs"].id, flag) - 1
    await _only_staffs_recounted(db, w, as_of)


async def test_activity_recorded_recounts_only_its_force(client, tokens, session, db):
    w = await _world(session)
    before = await _counted_once(db, w)
    figures = {
        "period_start": str(TODAY - timedelta(days=10)), "period_end": str(TODAY),
        "original_posts": 30, "reposts": 0, "replies": 0, "followers": 10,
    }  # fmt: skip
    r = await client.post(
        f"{API}/accounts/{w['bobs'].id}/activity",
        json=figures,
        headers=tokens.headers("collector", force="staffs"),
    )
    assert r.status_code == 201, r.text
    after, as_of = await _served(db)
    flag = "broadcast_only"
    assert _flag(after, w["staffs"].id, flag) == _flag(before, w["staffs"].id, flag) + 1
    await _only_staffs_recounted(db, w, as_of)


async def _leave(client: Any, tokens: Any, person_id: uuid.UUID) -> None:
    r = await client.post(
        f"{API}/people/{person_id}/leave",
        json={"left_on": str(TODAY)},
        headers=tokens.headers("comms_admin", force="staffs"),
    )
    assert r.status_code == 200, r.text


async def test_person_leaving_recounts_only_their_force(client, tokens, session, db):
    w = await _world(session)
    before = await _counted_once(db, w)
    await _leave(client, tokens, w["bob"].id)
    after, as_of = await _served(db)
    assert _flag(after, w["staffs"].id, "orphaned") == _flag(before, w["staffs"].id, "orphaned") + 2
    await _only_staffs_recounted(db, w, as_of)


async def test_time_passing_a_dormancy_threshold_and_midnight(session, db):
    w = await _world(session)
    before, _ = await _served(db)
    if not db.is_sqlite:
        async with db.session(write=False) as s:
            until = dict(
                (await s.execute(sa.select(ReportTotals.force_id, ReportTotals.valid_until))).all()
            )
        assert until[w["staffs"].id] == T + timedelta(hours=1)  # `soon` goes dormant
        assert until[w["wmids"].id] == datetime.combine(
            TODAY + timedelta(days=1), datetime.min.time(), UTC
        )
    clock.freeze(T + timedelta(minutes=30))
    assert (await _served(db))[0] == before  # nothing due yet: served as stored
    if not db.is_sqlite:
        assert set((await _computed(db)).values()) == {T}
    clock.freeze(T + timedelta(hours=1, seconds=1))
    after, _ = await _served(db)
    assert _flag(after, w["staffs"].id, "dormant") == _flag(before, w["staffs"].id, "dormant") + 1
    if not db.is_sqlite:
        assert (await _computed(db))[w["wmids"].id] == T  # its totals still hold
    clock.freeze(
        datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), UTC) + timedelta(seconds=1)
    )
    tomorrow, _ = await _served(db)
    flag = "review_overdue"
    assert _flag(tomorrow, w["wmids"].id, flag) == _flag(before, w["wmids"].id, flag) + 1


async def test_change_committed_during_a_recount_is_in_the_next_summary(
    client, tokens, session, db
):
    if db.is_sqlite:
        pytest.skip("totals are kept on PostgreSQL only")
    w = await _world(session)
    staffs = w["staffs"].id
    before = await _counted_once(db, w)
    await _patch_account(client, tokens, w["bobs"].id, {"objectives": []})
    ids = [staffs, w["wmids"].id]
    # A recount, driven step by step on its own connections as the summary runs it.
    lock, writer = db.session(), db.session()
    try:
        key = {"key": totals.TOTALS_LOCK_KEY}
        await lock.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), key)
        await writer.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        snapshot = await repository.export_snapshot(writer)
        # A change committed after the recount's snapshot, before its commit.
        await _leave(client, tokens, w["bob"].id)
        rows, _ = await totals._recount_in_snapshot(writer, db, snapshot, ids, clock.now(), 2)
        await writer.commit()
        await lock.commit()
    finally:
        await writer.close()
        await lock.close()
    counted = _norm(rows)
    assert _flag(counted, staffs, "orphaned") == _flag(before, staffs, "orphaned")
    assert (
        _flag(counted, staffs, "no_strategy_link") == _flag(before, staffs, "no_strategy_link") + 1
    )
    assert await _marked(db) == {staffs}  # the late change's mark outlived the recount
    after, _ = await _served(db)
    assert _flag(after, staffs, "orphaned") == _flag(before, staffs, "orphaned") + 2
    assert await _marked(db) == set()


async def test_summary_response_says_when_its_figures_are_from(client, tokens, session, db):
    w = await _world(session)
    await _counted_once(db, w)
    r = await client.get(f"{API}/reports/summary", headers=tokens.headers("admin", force=None))
    assert r.status_code == 200, r.text
    expected = LATER if db.is_sqlite else T
    assert datetime.fromisoformat(r.json()["as_of"]) == expected


async def test_malformed_stored_totals_are_recounted_not_an_error(client, tokens, session, db):
    if db.is_sqlite:
        pytest.skip("totals are kept on PostgreSQL only")
    w = await _world(session)
    await _counted_once(db, w)
    async with db.session() as s:
        await s.execute(
            sa.update(ReportTotals)
            .where(ReportTotals.force_id == w["wmids"].id)
            .values(groups=[["myspace", "official", "active", 1]])
        )
        await s.commit()
    r = await client.get(f"{API}/reports/summary", headers=tokens.headers("admin", force=None))
    assert r.status_code == 200, r.text
    await _served(db)  # equal to the full recount
    assert (await _computed(db))[w["wmids"].id] == LATER  # recounted, stored again


async def test_identity_changes_mark_every_force_only_for_public_accounts(session, db):
    if db.is_sqlite:
        pytest.skip("the trigger is PostgreSQL's")
    from app.audit import service as audit

    w = await _world(session)
    actor = audit.Actor.system()
    renamed = {"handle": ["a", "b"]}

    async def marks(account: Any, changes: dict, action: str = "account.updated") -> set:
        async with db.session() as s:
            await s.execute(sa.delete(ReportStale))
            audit.record(
                s, actor, action, "account", account.id, changes, force_id=account.force_id
            )
            await s.commit()
        return await _marked(db)

    # An unofficial account's identity feeds only its own flags.
    assert await marks(w["imitator"], renamed) == {w["wmids"].id}
    assert await marks(w["official"], renamed) == {None}
    # An account that was public before the change marks every force too.
    was_official = {"classification": ["official", "unofficial"]}
    assert await marks(w["imitator"], was_official) == {None}
    assert await marks(w["official"], {"display_name": ["a", "b"]}) == {w["staffs"].id}
    assert await marks(w["official"], renamed, "account.duplicate_refused") == set()
