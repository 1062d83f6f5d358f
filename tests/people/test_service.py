"""The leaving rules: who stops editing what, when, and what the audit trail says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.audit import service as audit
from app.auth.principal import Principal
from app.models import Account, AuditEvent, Custodianship, Person
from app.people import service
from app.people.schemas import LeaveBody
from tests.factories import make_account, make_force, make_person

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _comms_admin(force) -> Principal:
    return Principal(
        sub="comms@staffs",
        name=None,
        roles=frozenset({"comms_admin"}),
        force=force.code,
        force_id=force.id,
    )


async def _custodianships(db) -> dict[tuple, datetime | None]:
    async with db.session(write=False) as s:
        rows = await s.execute(
            sa.select(
                Custodianship.account_id,
                Custodianship.person_id,
                Custodianship.role,
                Custodianship.valid_to,
            )
        )
        return {(r.account_id, r.person_id, r.role): r.valid_to for r in rows}


async def _events(db) -> list[AuditEvent]:
    async with db.session(write=False) as s:
        return list((await s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))).all())


@pytest.fixture
async def world(session):
    """A leaver who owns one account and edits two; a colleague who edits one of them."""
    force = await make_force(session, "staffs")
    leaver = await make_person(session, force, name="Leaver")
    colleague = await make_person(session, force, name="Colleague")
    since = NOW - timedelta(days=30)
    owned = await make_account(session, force, owner=leaver, since=since)
    edited = await make_account(
        session, force, owner=colleague, editors=(leaver, colleague), since=since
    )
    also_edited = await make_account(session, force, editors=(leaver,), since=since)
    return force, leaver, colleague, owned, edited, also_edited


async def test_leaving_ends_every_open_editorship_at_the_leave_instant(db, session, world):
    force, leaver, colleague, owned, edited, also_edited = world
    clock.freeze(NOW)
    person = await _leave(db, force, leaver, date(2026, 11, 19))
    assert (person.status, person.left_on, person.version) == ("left", date(2026, 11, 19), 2)
    spans = await _custodianships(db)
    assert spans[(edited.id, leaver.id, "editor")] == NOW
    assert spans[(also_edited.id, leaver.id, "editor")] == NOW
    # Ownership is a record of fact: it stays, and makes the account orphaned elsewhere.
    assert spans[(owned.id, leaver.id, "owner")] is None
    # Nobody else's roles move.
    assert spans[(edited.id, colleague.id, "editor")] is None
    assert spans[(edited.id, colleague.id, "owner")] is None
    async with db.session(write=False) as s:
        assert await s.scalar(sa.select(Account.owner_id).where(Account.id == owned.id)) == (
            leaver.id
        )


async def test_leaving_records_the_leaver_and_each_ended_editorship(db, session, world):
    force, leaver, _colleague, _owned, edited, also_edited = world
    clock.freeze(NOW)
    await _leave(db, force, leaver, date(2026, 11, 20))
    events = await _events(db)
    assert [e.action for e in events] == [
        "person.left",
        "account.editor_ended",
        "account.editor_ended",
    ]
    left = events[0]
    assert (left.entity_type, left.entity_id) == ("person", str(leaver.id))
    assert left.changes == {"status": ["active", "left"], "left_on": [None, "2026-11-20"]}
    assert left.actor_sub == "comms@staffs"
    assert left.force_id == force.id
    ended = {e.entity_id: e for e in events[1:]}
    assert set(ended) == {str(edited.id), str(also_edited.id)}
    for event in ended.values():
        assert event.entity_type == "account"
        assert event.changes == {"editor": [str(leaver.id), None]}
        assert event.at == NOW
    assert len({e.request_id for e in events}) == 1


async def test_a_leaver_with_no_editorships_writes_one_event(db, session):
    force = await make_force(session, "staffs")
    person = await make_person(session, force)
    await _leave(db, force, person, clock.today())
    assert [e.action for e in await _events(db)] == ["person.left"]


async def test_leaving_twice_is_a_conflict(db, session, world):
    force, leaver, *_ = world
    await _leave(db, force, leaver, clock.today())
    with pytest.raises(service.AlreadyLeft):
        await _leave(db, force, leaver, clock.today())


async def test_a_leaving_date_after_today_is_refused(db, session, world):
    force, leaver, *_ = world
    clock.freeze(NOW)
    with pytest.raises(service.ValidationFailed):
        await _leave(db, force, leaver, date(2026, 11, 21))
    await _leave(db, force, leaver, date(2026, 11, 20))


async def test_a_leave_that_fails_after_its_changes_leaves_no_trace(
    client, tokens, db, session, world, monkeypatch
):
    _force, leaver, *_ = world
    before = await _custodianships(db)
    real_record = audit.record

    def failing_record(session_, actor, action, *args, **kwargs):
        if action == "account.editor_ended":
            raise RuntimeError("disk full")
        return real_record(session_, actor, action, *args, **kwargs)

    monkeypatch.setattr(audit, "record", failing_record)
    r = await client.post(
        f"/api/v1/people/{leaver.id}/leave",
        json={"left_on": str(clock.today())},
        headers=tokens.headers("comms_admin"),
    )
    assert r.status_code == 500
    assert "disk full" not in r.text
    assert await _custodianships(db) == before
    assert await _events(db) == []
    async with db.session(write=False) as s:
        person = await s.get(Person, leaver.id)
        assert (person.status, person.left_on, person.version) == ("active", None, 1)


async def _leave(db, force, person, left_on: date) -> Person:
    async with db.session() as s:
        left, code = await service.leave(
            s, _comms_admin(force), person.id, LeaveBody(left_on=left_on)
        )
        await s.commit()
    assert code == force.code
    return left
