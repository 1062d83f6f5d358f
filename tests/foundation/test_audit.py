from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.audit import service as audit
from app.audit.service import verify_chain
from app.models import AuditEvent
from tests.factories import force_uuid, make_force


async def _write_events(db, n: int, actor: str = "tester") -> None:
    for i in range(n):
        async with db.session() as s:
            audit.record(s, audit.Actor(actor, ["admin"], None), "thing.done", "thing", i, {"i": i})
            await s.commit()


async def test_chain_verifies_and_names_the_first_tampered_event(db, session):
    await _write_events(db, 5)
    assert (await verify_chain(session)).ok
    ids = (await session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id))).all()
    if db.is_sqlite:
        await session.execute(
            sa.update(AuditEvent).where(AuditEvent.id == ids[2]).values(action="forged")
        )
        await session.commit()
        result = await verify_chain(session)
        assert (result.ok, result.first_broken_id) == (False, ids[2])
    else:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(
                sa.update(AuditEvent).where(AuditEvent.id == ids[2]).values(action="forged")
            )
        await session.rollback()


async def test_postgres_refuses_deleting_audit_events(db, session):
    await _write_events(db, 1)
    if db.is_sqlite:
        await session.execute(sa.delete(AuditEvent))
        await session.commit()
        assert (await verify_chain(session)).events_checked == 0
        return
    with pytest.raises(DBAPIError, match="append-only"):
        await session.execute(sa.delete(AuditEvent))
    await session.rollback()


async def test_a_deleted_link_breaks_the_chain_at_the_next_event(db, session):
    if not db.is_sqlite:
        return  # PostgreSQL refuses the delete itself (test above)
    await _write_events(db, 4)
    ids = (await session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id))).all()
    await session.execute(sa.delete(AuditEvent).where(AuditEvent.id == ids[1]))
    await session.commit()
    result = await verify_chain(session)
    assert (result.ok, result.first_broken_id) == (False, ids[2])


async def test_concurrent_writers_keep_one_valid_chain(db, session):
    await make_force(session, "staffs")

    async def writer(n: int) -> None:
        for i in range(10):
            async with db.session() as s:
                audit.record(
                    s, audit.Actor(f"w{n}", ["admin"], None), "x.y", "thing", f"{n}-{i}", {},
                    force_id=force_uuid("staffs"),
                )  # fmt: skip
                await s.commit()

    await asyncio.gather(*(writer(n) for n in range(8)))
    result = await verify_chain(session)
    assert result.ok and result.events_checked == 80
    hashes = (await session.scalars(sa.select(AuditEvent.prev_hash))).all()
    assert len(set(hashes)) == 80  # no fork: every link has a distinct predecessor


async def test_audit_log_api_is_force_scoped_and_role_limited(client, tokens, session):
    await make_force(session, "staffs")
    await make_force(session, "wmids")
    admin = tokens.headers("admin", force=None)
    for code in ("staffs", "wmids"):
        r = await client.patch(
            f"/api/v1/forces/{code}", json={"dormancy_days": 30},
            headers={**admin, "If-Match": '"v1"'},
        )  # fmt: skip
        assert r.status_code == 200, r.text
    r = await client.get("/api/v1/audit", headers=tokens.headers("psd", force="staffs"))
    assert r.status_code == 200
    assert [e["entity_id"] for e in r.json()["items"]] == [str(force_uuid("staffs"))]
    r = await client.get("/api/v1/audit?limit=1", headers=admin)
    page1 = r.json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    r = await client.get(f"/api/v1/audit?limit=1&cursor={page1['next_cursor']}", headers=admin)
    assert r.json()["items"][0]["id"] > page1["items"][0]["id"]
    assert r.json()["items"][0]["changes"] == {"dormancy_days": [90, 30]}
    for role in ("staff", "collector"):
        r = await client.get("/api/v1/audit", headers=tokens.headers(role, force="staffs"))
        assert r.status_code == 403
    assert (await client.get("/api/v1/audit")).status_code == 401
    r = await client.get("/api/v1/audit/verify", headers=tokens.headers("auditor", force=None))
    assert r.status_code == 403
    r = await client.get("/api/v1/audit/verify", headers=admin)
    assert r.json() == {"ok": True, "events_checked": 2, "first_broken_id": None}
