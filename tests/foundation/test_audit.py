from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.audit import service as audit
from app.audit.service import sequence, verify_log
from app.audit.verifier import event_leaf, leaf_hash
from app.models import AuditCheckpoint, AuditEvent, AuditLeaf, AuditTreeNode
from tests.factories import force_uuid, make_force


async def _write_events(db, n: int, actor: str = "tester") -> None:
    for i in range(n):
        async with db.session() as s:
            audit.record(s, audit.Actor(actor, ["admin"], None), "thing.done", "thing", i, {"i": i})
            await s.commit()


async def _leaves(db) -> list[tuple[int, int, bytes]]:
    async with db.session(write=False) as s:
        rows = await s.execute(
            sa.select(AuditLeaf.leaf_index, AuditLeaf.event_id, AuditLeaf.leaf_hash).order_by(
                AuditLeaf.leaf_index
            )
        )
        return [(r[0], r[1], bytes(r[2])) for r in rows]


async def test_verify_names_the_first_tampered_event(db, session):
    await _write_events(db, 5)
    assert (await verify_log(db, db.settings)).ok
    ids = (await session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id))).all()
    if db.is_sqlite:
        await session.execute(
            sa.update(AuditEvent).where(AuditEvent.id == ids[2]).values(action="forged")
        )
        await session.commit()
        result = await verify_log(db, db.settings)
        assert (result.ok, result.first_broken_id) == (False, ids[2])
        assert f"event {ids[2]} (leaf 2) differs from its leaf" in result.problems
    else:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(
                sa.update(AuditEvent).where(AuditEvent.id == ids[2]).values(action="forged")
            )
        await session.rollback()


@pytest.mark.parametrize("model", [AuditEvent, AuditLeaf, AuditTreeNode, AuditCheckpoint])
async def test_postgres_refuses_update_delete_and_truncate_of_every_audit_table(db, session, model):
    if db.is_sqlite:
        return  # PostgreSQL's triggers; on SQLite verify detects tampering (tests/audit)
    await _write_events(db, 3)
    assert await sequence(db) == 3  # leaves and a subtree hash to attack
    async with db.session() as s:
        s.add(AuditCheckpoint(id=1, tree_size=0, root_hash=b"\0" * 32, note="x", created_at=_now()))
        await s.commit()
    table = model.__tablename__
    column = next(iter(model.__table__.primary_key.columns)).name
    for statement in (
        f'UPDATE {table} SET "{column}" = "{column}"',
        f"DELETE FROM {table}",
        f"TRUNCATE {table} CASCADE",
    ):
        with pytest.raises(DBAPIError, match=f"{table} is append-only|audit_events is append"):
            await session.execute(sa.text(statement))
        await session.rollback()


def _now():
    from app import clock

    return clock.now()


async def test_concurrent_writers_each_event_once_and_a_rolled_back_one_never(db, session):
    """16 writers commit concurrently (no lock between them); some transactions insert
    their events and then roll back. Every committed event is a leaf exactly once, with
    the hash of its own canonical bytes; no rolled-back event ever is."""
    await make_force(session, "staffs")

    async def writer(n: int) -> None:
        for i in range(6):
            async with db.session() as s:
                audit.record(
                    s, audit.Actor(f"w{n}", ["admin"], None), "x.y", "thing", f"{n}-{i}", {},
                    force_id=force_uuid("staffs"),
                )  # fmt: skip
                if i % 3 == 2:
                    # Events inserted, then the transaction fails.
                    await s.run_sync(audit._write_pending)
                    await s.rollback()
                else:
                    await s.commit()
            if i % 2:
                await sequence(db)  # sequencing runs while others still write

    await asyncio.gather(*(writer(n) for n in range(16)))
    await sequence(db)
    leaves = await _leaves(db)
    async with db.session(write=False) as s:
        events = {e.id: e for e in (await s.scalars(sa.select(AuditEvent))).all()}
    assert len(events) == 16 * 4
    assert sorted(e.entity_id for e in events.values()) == sorted(
        f"{n}-{i}" for n in range(16) for i in range(6) if i % 3 != 2
    )
    assert [index for index, _e, _h in leaves] == list(range(len(events)))
    assert sorted(event_id for _i, event_id, _h in leaves) == sorted(events)
    for _index, event_id, digest in leaves:
        row = events[event_id]
        doc = {c: getattr(row, c) for c in AuditEvent.__table__.c.keys()}  # noqa: SIM118
        assert leaf_hash(event_leaf(doc)) == digest
    result = await verify_log(db, db.settings)
    assert (result.ok, result.events_checked) == (True, 64), result.problems


async def test_an_event_committed_after_a_later_one_is_sequenced_next(db):
    """Ids are given at insert, commits land in any order: the sequencer never skips the
    earlier id that commits late, nor takes an event before its commit."""
    if db.is_sqlite:
        return  # SQLite serialises writers: ids are given and committed in one order
    early = db.session()
    audit.record(early, audit.Actor.system(), "x.early", "thing", "early", {})
    await early.run_sync(audit._write_pending)  # id given, not committed
    try:
        await _write_events(db, 1)
        assert await sequence(db) == 1  # the later id only
    finally:
        await early.commit()
        await early.close()
    assert await sequence(db) == 1
    leaves = await _leaves(db)
    async with db.session(write=False) as s:
        by_id = dict((await s.execute(sa.select(AuditEvent.id, AuditEvent.entity_id))).all())
    assert [by_id[e] for _i, e, _h in leaves] == ["0", "early"]
    early_id = next(i for i, entity in by_id.items() if entity == "early")
    assert early_id < max(by_id)  # the earlier id, sequenced second
    assert (await verify_log(db, db.settings)).ok


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
    body = r.json()
    assert (body["ok"], body["first_broken_id"], body["problems"]) == (True, None, [])
    # Both events: in the tree, or committed and waiting for the sequencer.
    assert body["events_checked"] + body["pending"] == 2
