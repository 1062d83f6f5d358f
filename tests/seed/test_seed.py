from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts.handles import normalise_handle
from app.audit.service import verify_log
from app.models import (
    Account,
    ActivityPeriod,
    AuditEvent,
    Custodianship,
    Force,
    Guideline,
    Objective,
    Person,
    Signoff,
    Unit,
)
from app.models.enums import PLATFORMS
from app.seed import FORCES, SeedError, handle_for, seed

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


async def _count(db, model) -> int:
    async with db.session(write=False) as s:
        return await s.scalar(sa.select(sa.func.count()).select_from(model))


async def test_tiny_seed_writes_the_expected_rows_and_a_verifiable_tree(db):
    clock.freeze(NOW)
    messages: list[str] = []
    result = await seed(
        db, forces=2, accounts=50, people=None, months=24, audit_events=None,
        progress=messages.append,
    )  # fmt: skip
    assert (result["forces"], result["accounts"], result["people"]) == (2, 50, 100)
    assert result["objectives"] == 14  # six active and one retired objective a force
    assert result["guidelines"] == 3  # national v1 and v2, one force's local code
    for model, key in (
        (Force, "forces"), (Account, "accounts"), (Person, "people"), (Unit, "units"),
        (Objective, "objectives"), (Guideline, "guidelines"), (Signoff, "signoffs"),
        (Custodianship, "custodianships"), (ActivityPeriod, "activity"),
        (AuditEvent, "audit_events"),
    ):  # fmt: skip
        assert await _count(db, model) == result[key], key
    assert result["activity"] > 0 and result["custodianships"] > 0
    check = await verify_log(db, db.settings)
    assert (check.ok, check.events_checked) == (True, result["audit_events"])
    assert messages and messages[-1].startswith("done")


async def test_seeded_rows_are_consistent(db):
    clock.freeze(NOW)
    await seed(db, forces=3, accounts=120, people=None, months=36, audit_events=None)
    async with db.session(write=False) as s:
        accounts = (await s.execute(sa.select(Account))).scalars().all()
        owner_force = dict((await s.execute(sa.select(Person.id, Person.force_id))).all())
        open_owner = dict(
            (
                await s.execute(
                    sa.select(Custodianship.account_id, Custodianship.person_id).where(
                        Custodianship.role == "owner", Custodianship.valid_to.is_(None)
                    )
                )
            ).all()
        )
        with_activity = set(await s.scalars(sa.select(ActivityPeriod.account_id).distinct()))
    for a in accounts:
        assert normalise_handle(a.platform, a.handle) == a.handle
        if a.owner_id is not None:
            assert owner_force[a.owner_id] == a.force_id
        if a.status not in ("decommissioned", "rejected"):
            assert open_owner.get(a.id) == a.owner_id
        if a.status in ("pending_approval", "rejected"):
            assert a.id not in with_activity
        assert a.created_at <= NOW
        assert a.last_post_at is None or a.last_post_at <= NOW


async def test_audit_events_can_be_capped(db):
    clock.freeze(NOW)
    result = await seed(db, forces=1, accounts=30, people=None, months=12, audit_events=40)
    assert result["audit_events"] == 40
    assert (await verify_log(db, db.settings)).ok


async def test_seeding_forces_that_exist_is_refused(db, session):
    from tests.factories import make_force

    code = sorted(FORCES, key=lambda f: (-f[2], f[0]))[0][0]
    await make_force(session, code)
    with pytest.raises(SeedError, match=code):
        await seed(db, forces=1, accounts=5)
    assert await _count(db, Account) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"forces": 0, "accounts": 1}, "forces"),
        ({"forces": 101, "accounts": 1}, "forces"),
        ({"forces": 1, "accounts": 1_000_001}, "accounts"),
        ({"forces": 1, "accounts": 1, "months": 0}, "months"),
        ({"forces": 1, "accounts": 1, "audit_events": -1}, "audit_events"),
    ],
)
async def test_out_of_range_sizes_are_refused(db, kwargs, message):
    with pytest.raises(SeedError, match=message):
        await seed(db, **kwargs)


async def _indexes(db, table: str) -> set[str]:
    if db.is_sqlite:
        query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE tablename = :t"
    async with db.session(write=False) as s:
        return set(await s.scalars(sa.text(query), {"t": table}))


async def test_indexes_set_aside_for_the_load_are_rebuilt_as_they_were(db):
    clock.freeze(NOW)
    before = {t: await _indexes(db, t) for t in ("activity", "audit_events")}
    assert all(len(found) >= 2 for found in before.values())
    await seed(db, forces=1, accounts=10, months=6)
    assert {t: await _indexes(db, t) for t in before} == before


def test_generated_handles_are_valid_for_every_platform_and_force():
    codes = [code for code, _, _ in FORCES] + ["force-100"]
    for platform in PLATFORMS:
        for code in codes:
            for n in (1, 35, 36**3, 1_000_000):
                handle = handle_for(platform, code, n)
                assert normalise_handle(platform, handle) == handle, (platform, code, n)
