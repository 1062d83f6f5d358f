"""Account rules below HTTP: custodianship intervals over time, and the small helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import service
from app.accounts.export import safe_cell
from app.accounts.repository import like_pattern
from app.accounts.schemas import AccountCreate
from app.auth.principal import Principal
from app.errors import ValidationFailed
from app.models import AuditEvent, Custodianship
from tests.factories import make_account, make_force, make_person

T0 = datetime(2025, 1, 1, 9, tzinfo=UTC)


def _admin(force=None) -> Principal:
    return Principal("comms-1", None, frozenset({"comms_admin"}), "staffs", force.id)


async def _owner_id_at(session, principal, account, at):
    found = await service.custodians(session, principal, account.id, at)
    return found.owner.id if found.owner else None


async def test_change_owner_keeps_who_owned_the_account_at_every_instant(session):
    staffs = await make_force(session, "staffs")
    first, second, third = [await make_person(session, staffs) for _ in range(3)]
    account = await make_account(session, staffs, owner=first, since=T0)
    principal = _admin(staffs)
    t1, t2 = T0 + timedelta(days=10), T0 + timedelta(days=20)

    clock.freeze(t1)
    loaded = await service.get_visible(session, principal, account.id)
    await service.change_owner(session, principal, loaded, second.id)
    clock.freeze(t2)
    await service.change_owner(session, principal, loaded, third.id)
    await session.commit()

    assert await _owner_id_at(session, principal, account, T0 - timedelta(seconds=1)) is None
    assert await _owner_id_at(session, principal, account, T0) == first.id
    assert await _owner_id_at(session, principal, account, t1 - timedelta(microseconds=1)) == (
        first.id
    )
    assert await _owner_id_at(session, principal, account, t1) == second.id
    assert await _owner_id_at(session, principal, account, t2) == third.id
    assert loaded.owner_id == third.id
    rows = (
        await session.scalars(sa.select(Custodianship).order_by(Custodianship.valid_from))
    ).all()
    assert [(r.person_id, r.valid_from, r.valid_to) for r in rows] == [
        (first.id, T0, t1),
        (second.id, t1, t2),
        (third.id, t2, None),
    ]
    events = (
        await session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "account.owner_changed")
        )
    ).all()
    assert [e.changes["owner_id"] for e in events] == [
        [str(first.id), str(second.id)],
        [str(second.id), str(third.id)],
    ]


async def test_change_owner_refuses_a_person_who_left_or_belongs_elsewhere(session):
    staffs = await make_force(session, "staffs")
    wmids = await make_force(session, "wmids")
    owner = await make_person(session, staffs)
    account = await make_account(session, staffs, owner=owner, since=T0)
    principal = _admin(staffs)
    loaded = await service.get_visible(session, principal, account.id)
    for person in (
        await make_person(session, staffs, status="left"),
        await make_person(session, wmids),
    ):
        with pytest.raises(ValidationFailed):
            await service.change_owner(session, principal, loaded, person.id)
    with pytest.raises(ValidationFailed):  # an interval cannot end before it began
        await service.change_owner(
            session, principal, loaded, (await make_person(session, staffs)).id,
            T0 - timedelta(days=1),
        )  # fmt: skip


async def test_change_owner_to_the_same_person_changes_nothing(session):
    staffs = await make_force(session, "staffs")
    owner = await make_person(session, staffs)
    account = await make_account(session, staffs, owner=owner, since=T0)
    principal = _admin(staffs)
    loaded = await service.get_visible(session, principal, account.id)
    await service.change_owner(session, principal, loaded, owner.id)
    await session.commit()
    assert loaded.version == 1
    assert len((await session.scalars(sa.select(Custodianship))).all()) == 1


async def test_end_custodianships_closes_every_interval_and_clears_the_owner(session):
    staffs = await make_force(session, "staffs")
    owner = await make_person(session, staffs)
    editor = await make_person(session, staffs)
    account = await make_account(session, staffs, owner=owner, editors=(editor,), since=T0)
    principal = _admin(staffs)
    end = T0 + timedelta(days=100)
    clock.freeze(end)
    loaded = await service.get_visible(session, principal, account.id)
    await service.end_custodianships(session, principal, loaded)
    await session.commit()

    assert loaded.owner_id is None
    now = await service.custodians(session, principal, account.id, end)
    assert (now.owner, now.editors) == (None, [])
    before = await service.custodians(session, principal, account.id, end - timedelta(days=1))
    assert before.owner.id == owner.id
    assert [e.id for e in before.editors] == [editor.id]
    history = await service.history(session, principal, account.id)
    assert [(i.kind, i.role, i.valid_to) for i in history.items] == [
        ("custodian", "owner", end),
        ("custodian", "editor", end),
    ]


async def test_a_leavers_editor_roles_end_everywhere(session):
    staffs = await make_force(session, "staffs")
    leaver = await make_person(session, staffs)
    stays = await make_person(session, staffs)
    a = await make_account(session, staffs, editors=(leaver, stays), since=T0)
    b = await make_account(session, staffs, editors=(leaver,), since=T0)
    principal = _admin(staffs)
    clock.freeze(T0 + timedelta(days=5))
    assert await service.end_editorships_of_person(session, principal, leaver.id) == 2
    await session.commit()
    for account, expected in ((a, [stays.id]), (b, [])):
        found = await service.custodians(session, principal, account.id, None)
        assert [e.id for e in found.editors] == expected


async def test_staff_declaration_through_the_service_is_pending_and_owned_by_the_caller(session):
    staffs = await make_force(session, "staffs")
    me = await make_person(session, staffs, subject="pc-ann")
    principal = Principal("pc-ann", None, frozenset({"staff"}), "staffs", staffs.id)
    body = AccountCreate(platform="instagram", handle="@PC.Ann", classification="unofficial")
    account = await service.create_account(session, principal, body)
    await session.commit()
    assert (account.status, account.owner_id, account.handle) == (
        "pending_approval",
        me.id,
        "pc.ann",
    )
    read = await service.read(session, principal, account.id)
    assert read.owner.name == me.name


def test_like_pattern_takes_wildcards_and_escapes_literally():
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"
    assert like_pattern("ABC") == "%abc%"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+44", "'+44"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (None, ""),
        (True, "true"),
    ],
)
def test_csv_cells_are_safe_from_formula_injection(value, cell):
    assert safe_cell(value) == cell
