"""Leavers past the retention period are pseudonymised (`registry retention run`) unless a
legal hold or an open request involves an account they operated; ids and custody stay."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.models import AuditEvent, Custodianship, Person
from app.retention.service import pseudonym, run
from tests.conftest import ROOT
from tests.factories import make_account, make_force, make_hold, make_person, make_request

DAYS = 365


async def _world(session):
    staffs = await make_force(session, "staffs")
    long_ago = clock.today() - timedelta(days=DAYS + 10)
    gone = await make_person(
        session,
        staffs,
        status="left",
        left_on=long_ago,
        subject="gone@staffs",
        job_title="PC",
        name="Gwen Gone",
    )
    held = await make_person(session, staffs, status="left", left_on=long_ago, name="Hal Held")
    asked = await make_person(session, staffs, status="left", left_on=long_ago, name="Ann Asked")
    recent = await make_person(
        session,
        staffs,
        status="left",
        left_on=clock.today() - timedelta(days=10),
        name="Rita Recent",
    )
    active = await make_person(session, staffs, name="Alan Active")
    gone_account = await make_account(session, staffs, owner=gone)
    await make_hold(session, await make_account(session, staffs, owner=held))
    await make_request(session, await make_account(session, staffs, owner=asked))
    return staffs, gone, held, asked, recent, active, gone_account


async def test_retention_pseudonymises_due_leavers_and_keeps_held_ones(session):
    _staffs, gone, held, asked, recent, active, account = await _world(session)
    ids = {p.id: p.name for p in (gone, held, asked, recent, active)}
    result = await run(session, clock.today(), DAYS)
    await session.commit()
    assert (result.pseudonymised, result.kept_back) == (1, 2)
    session.expunge_all()
    people = {p.id: p for p in (await session.scalars(sa.select(Person))).all()}
    name, staff_id = pseudonym(gone.id)
    forgotten = people[gone.id]
    assert (forgotten.name, forgotten.staff_id) == (name, staff_id)
    assert (forgotten.email, forgotten.subject, forgotten.job_title) == (None, None, None)
    assert forgotten.status == "left" and forgotten.left_on is not None
    for other in (held.id, asked.id, recent.id, active.id):
        assert people[other].name == ids[other]
    # Who ran the account, and when, still answers — with the pseudonym.
    custody = (
        await session.scalars(
            sa.select(Custodianship).where(Custodianship.account_id == account.id)
        )
    ).all()
    assert [c.person_id for c in custody] == [gone.id]
    [event] = (
        await session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "person.pseudonymised")
        )
    ).all()
    assert event.entity_id == str(gone.id) and event.actor_sub == "retention"
    assert event.changes["replaced"] == ["email", "job_title", "name", "staff_id", "subject"]
    assert "Gwen Gone" not in str(event.changes)
    await session.commit()
    # Again: nothing more to do, the pseudonym unchanged.
    again = await run(session, clock.today(), DAYS)
    await session.commit()
    assert again.pseudonymised == 0
    assert pseudonym(gone.id) == (name, staff_id)


async def test_the_registry_retention_run_command_pseudonymises(session, settings):
    _staffs, gone, *_ = await _world(session)
    await session.commit()
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": settings.database_url,
        "REGISTRY_JWT_SECRET": settings.jwt_secret,
        "REGISTRY_LEAVER_RETENTION_DAYS": str(DAYS),
    }
    dry = subprocess.run(
        [sys.executable, "-m", "app.cli", "retention", "run", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dry.returncode == 0, dry.stderr
    assert "would pseudonymise 1 leavers" in dry.stdout and "2 kept back" in dry.stdout
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "retention", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "pseudonymised 1 leavers" in done.stdout
    session.expunge_all()
    assert (await session.get(Person, gone.id)).name == pseudonym(gone.id)[0]
    await session.commit()
