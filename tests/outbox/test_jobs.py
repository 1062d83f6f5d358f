"""The worker's scheduled jobs: run when due, once per period, one runner at a time;
a failing job is rolled back and recorded; the daily flag evaluation emits only changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.models import OutboxEvent, ScheduledJob
from app.outbox.service import emit
from app.worker import jobs
from app.worker.runner import Worker
from tests.factories import make_account, make_force

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def registered():
    added: list[str] = []

    def add(name, every, fn):
        jobs.job(name, every)(fn)
        added.append(name)

    yield add
    for name in added:
        jobs.JOBS.pop(name, None)


async def _events(session, type=None):
    query = sa.select(OutboxEvent).order_by(OutboxEvent.created_at)
    if type:
        query = query.where(OutboxEvent.type == type)
    found = list((await session.scalars(query)).all())
    await session.commit()
    return found


async def test_a_job_runs_once_per_period_and_its_events_commit_with_it(db, session, registered):
    runs = []

    async def tick(s, now):
        runs.append(now)
        emit(s, type="test.ticked", force_code=None, subject={"n": str(len(runs))})

    registered("test.tick", timedelta(hours=1), tick)
    clock.freeze(T0)
    assert "test.tick" in await jobs.run_due_jobs(db)
    assert "test.tick" not in await jobs.run_due_jobs(db)
    clock.freeze(T0 + timedelta(minutes=59))
    assert "test.tick" not in await jobs.run_due_jobs(db)
    clock.freeze(T0 + timedelta(hours=1))
    assert "test.tick" in await jobs.run_due_jobs(db)
    assert runs == [T0, T0 + timedelta(hours=1)]
    assert [e.subject for e in await _events(session, "test.ticked")] == [{"n": "1"}, {"n": "2"}]
    row = await session.get(ScheduledJob, "test.tick", populate_existing=True)
    assert row.runs == 2 and row.last_run_at == T0 + timedelta(hours=1)


async def test_a_failing_job_is_rolled_back_recorded_and_retried(db, session, registered):
    async def broken(s, now):
        emit(s, type="test.half", force_code=None, subject={})
        raise RuntimeError("the relay is down")

    registered("test.broken", timedelta(days=1), broken)
    clock.freeze(T0)
    assert await jobs.run_due_jobs(db) == [n for n in sorted(jobs.JOBS) if n != "test.broken"]
    assert await _events(session, "test.half") == []
    row = await session.get(ScheduledJob, "test.broken", populate_existing=True)
    assert "the relay is down" in row.last_error
    await session.commit()
    clock.freeze(T0 + timedelta(minutes=4))
    assert "test.broken" not in await jobs.run_due_jobs(db)  # failed runs retry after 5 min
    calls = []

    async def mended(s, now):
        calls.append(now)

    jobs.JOBS["test.broken"] = jobs.Job("test.broken", timedelta(days=1), mended)
    clock.freeze(T0 + timedelta(minutes=5))
    assert "test.broken" in await jobs.run_due_jobs(db)
    row = await session.get(ScheduledJob, "test.broken", populate_existing=True)
    assert row.last_error is None and calls == [T0 + timedelta(minutes=5)]


def test_job_names_are_unique():
    async def a(s, now): ...

    async def b(s, now): ...

    jobs.job("test.unique", timedelta(hours=1))(a)
    try:
        with pytest.raises(ValueError):
            jobs.job("test.unique", timedelta(hours=1))(b)
        with pytest.raises(ValueError):
            jobs.job("test.never", timedelta(0))
    finally:
        jobs.JOBS.pop("test.unique", None)


async def test_the_daily_evaluation_emits_only_changes(db, session):
    force = await make_force(session, "staffs")
    clock.freeze(T0)
    today = T0.date()
    unofficial = await make_account(session, force, classification="unofficial")  # unsanctioned
    overdue = await make_account(session, force, review_due_on=today - timedelta(days=1))
    soon = await make_account(session, force, review_due_on=today + timedelta(days=10))
    await Worker(db).run_once()
    first = await _events(session)
    raised = {(e.subject["account_id"], e.data["flag"]) for e in first if e.type == "flag.raised"}
    assert (str(unofficial.id), "unsanctioned") in raised
    assert (str(overdue.id), "review_overdue") in raised
    assert [e.subject for e in first if e.type == "review.overdue"] == [
        {"account_id": str(overdue.id)}
    ]
    assert [e.subject for e in first if e.type == "review.due"] == [{"account_id": str(soon.id)}]
    assert {e.force_code for e in first} == {"staffs"}
    # The next day nothing changed: nothing is emitted.
    clock.freeze(T0 + timedelta(days=1))
    await Worker(db).run_once()
    assert len(await _events(session)) == len(first)
    # The unofficial account is brought under oversight: its flag clears, once.
    await session.execute(
        sa.update(type(unofficial)).where(type(unofficial).id == unofficial.id)
        .values(classification="official")
    )  # fmt: skip
    await session.commit()
    clock.freeze(T0 + timedelta(days=2))
    await Worker(db).run_once()
    cleared = await _events(session, "flag.cleared")
    assert [(e.subject["account_id"], e.data["flag"]) for e in cleared] == [
        (str(unofficial.id), "unsanctioned")
    ]
    clock.freeze(T0 + timedelta(days=3))
    await Worker(db).run_once()
    assert len(await _events(session, "flag.cleared")) == 1
