from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.audit.service import Actor, verify_log
from app.imports import service
from app.models import Account, AuditEvent
from tests.factories import make_account, make_force

DATA = b"platform,handle,display_name,classification\nx,racer,Racer,official\nx,other,O,official\n"


async def _file() -> service.ParsedFile:
    return await service.read_file(DATA, max_rows=100)


async def test_racing_registration_of_the_same_handle_is_a_duplicate_account_conflict(
    db, session, monkeypatch
):
    force = await make_force(session, "staffs")
    await make_account(session, force, platform="x", handle="racer")

    # The other registration commits between our check and our insert.
    async def nothing_registered(*_args):
        return {}

    monkeypatch.setattr(service, "_registered", nothing_registered)
    async with db.session() as s:
        with pytest.raises(service.DuplicateAccount) as caught:
            await service.import_accounts(
                s, Actor.system("cli"), force.id, await _file(), dry_run=False
            )
        await s.rollback()
    assert caught.value.status == 409
    assert caught.value.code == "duplicate-account"
    handles = await session.scalars(sa.select(Account.handle).order_by(Account.handle))
    assert list(handles) == ["racer"]


async def test_command_line_import_with_a_system_actor_leaves_a_verifiable_chain(db, session):
    force = await make_force(session, "staffs")
    async with db.session() as s:
        result = await service.import_accounts(
            s,
            Actor(sub="cli:ops", roles=["admin"], force=None),
            force.id,
            await _file(),
            dry_run=False,
        )
        await s.commit()
    assert result.created == 2
    async with db.session(write=False) as s:
        events = list(await s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))
        assert [(e.actor_sub, e.action, e.force_id) for e in events] == [
            ("cli:ops", "account.imported", force.id)
        ] * 2
    assert (await verify_log(db, db.settings)).ok


async def test_dry_run_through_the_service_flushes_nothing(db, session):
    force = await make_force(session, "staffs")
    async with db.session() as s:
        result = await service.import_accounts(
            s, Actor.system(), force.id, await _file(), dry_run=True
        )
        assert result.created == 2
        assert not s.new
        assert await s.scalar(sa.select(sa.func.count()).select_from(Account)) == 0
        await s.commit()
    async with db.session(write=False) as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
