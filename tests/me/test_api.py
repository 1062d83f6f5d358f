from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app import clock
from tests.factories import make_account, make_force, make_guideline, make_person, sign

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


async def test_me_shows_person_accounts_and_outstanding_signoffs(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=10)
    me = await make_person(session, force, subject="alice", name="Alice Example")
    boss = await make_person(session, force)
    owned = await make_account(session, force, owner=me, handle="aliceowns")
    edited = await make_account(session, force, owner=boss, editors=(me,), handle="aliceedits")
    await make_account(session, force, owner=me, status="decommissioned", handle="alicegone")
    await make_account(session, force, owner=boss, handle="notmine")
    signed = await make_guideline(session, code="a", effective_from=T - timedelta(days=20))
    await sign(session, me, signed)
    owed = await make_guideline(session, force, code="b", effective_from=T - timedelta(days=20))
    r = await client.get(
        "/api/v1/me", headers=tokens.headers("staff", "comms_admin", sub="alice", name="Alice E")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["sub"], body["name"], body["force"]) == ("alice", "Alice E", "staffs")
    assert body["roles"] == ["comms_admin", "staff"]
    assert body["person"]["id"] == str(me.id)
    assert body["person"]["name"] == "Alice Example"
    assert [(a["id"], a["role"]) for a in body["accounts"]] == [
        (str(owned.id), "owner"),
        (str(edited.id), "editor"),
    ]
    assert set(body["accounts"][0]) == {
        "id", "platform", "handle", "display_name", "classification", "status", "role"
    }  # fmt: skip
    [item] = body["outstanding_signoffs"]
    assert (item["guideline_id"], item["code"], item["force"]) == (str(owed.id), "b", "staffs")
    assert item["due_on"] == str((T - timedelta(days=10)).date())
    assert item["overdue"] is True


async def test_me_without_a_person_record(client, tokens, session):
    await make_force(session)
    for headers in (tokens.headers("collector"), tokens.headers("auditor", force=None)):
        r = await client.get("/api/v1/me", headers=headers)
        assert r.status_code == 200
        body = r.json()
        assert body["person"] is None
        assert body["accounts"] == [] and body["outstanding_signoffs"] == []


async def test_me_needs_a_token(client):
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_me_refuses_a_token_without_a_known_role(client, tokens, session):
    await make_force(session)
    r = await client.get("/api/v1/me", headers=tokens.headers("janitor"))
    assert r.status_code == 403
