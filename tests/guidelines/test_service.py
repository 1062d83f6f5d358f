from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app import clock
from app.guidelines.service import has_signed_current, outstanding_for_person
from tests.factories import make_force, make_guideline, make_person, sign

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


async def test_has_signed_current_ignores_grace_and_future_versions(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=30)
    person = await make_person(session, force)
    assert await has_signed_current(session, person.id, force.id)  # nothing to sign yet
    v1 = await make_guideline(session, effective_from=T - timedelta(days=1))
    assert not await has_signed_current(session, person.id, force.id)
    await sign(session, person, v1)
    assert await has_signed_current(session, person.id, force.id)
    await make_guideline(session, version=2, effective_from=T + timedelta(days=1))
    assert await has_signed_current(session, person.id, force.id)


async def test_has_signed_current_covers_national_and_own_force_documents(session):
    clock.freeze(T)
    force = await make_force(session)
    other = await make_force(session, "wmids")
    person = await make_person(session, force)
    national = await make_guideline(session)
    local = await make_guideline(session, force, code="local")
    await make_guideline(session, other, code="theirs")
    await sign(session, person, national)
    assert not await has_signed_current(session, person.id, force.id)
    await sign(session, person, local)
    assert await has_signed_current(session, person.id, force.id)


async def test_outstanding_for_person_gives_due_dates_from_the_force_grace(session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=30)
    person = await make_person(session, force)
    late = await make_guideline(session, code="a", effective_from=T - timedelta(days=31))
    fresh = await make_guideline(session, force, code="b", effective_from=T - timedelta(days=1))
    items = await outstanding_for_person(session, person.id, force.id)
    assert [(i.guideline_id, i.overdue) for i in items] == [(late.id, True), (fresh.id, False)]
    assert items[0].due_on == (T - timedelta(days=1)).date()
    assert items[1].force == "staffs" and items[0].force is None


async def test_a_minor_revision_keeps_an_earlier_signature_valid(session):
    clock.freeze(T)
    force = await make_force(session)
    person = await make_person(session, force)
    v1 = await make_guideline(session, effective_from=T - timedelta(days=9))
    await sign(session, person, v1)
    await make_guideline(
        session, version=2, requires_resign=False, effective_from=T - timedelta(days=1)
    )
    assert await has_signed_current(session, person.id, force.id)
    await make_guideline(session, version=3, effective_from=T - timedelta(hours=1))
    assert not await has_signed_current(session, person.id, force.id)
