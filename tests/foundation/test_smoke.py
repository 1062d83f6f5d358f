from __future__ import annotations

from tests.factories import make_force


async def test_admin_creates_a_force_and_the_audit_log_verifies(client, tokens, session):
    admin = tokens.headers("admin", force=None)
    r = await client.post(
        "/api/v1/forces", json={"code": "staffs", "name": "Staffordshire"}, headers=admin
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/forces/staffs"
    r = await client.get("/api/v1/audit/verify", headers=admin)
    body = r.json()
    assert (body["ok"], body["first_broken_id"], body["problems"]) == (True, None, [])
    assert body["events_checked"] + body["pending"] == 1


async def test_staff_sees_only_own_force(client, tokens, session):
    await make_force(session, "staffs")
    await make_force(session, "wmids")
    r = await client.get("/api/v1/forces", headers=tokens.headers("staff", force="staffs"))
    assert [f["code"] for f in r.json()["items"]] == ["staffs"]
    r = await client.get("/api/v1/forces/wmids", headers=tokens.headers("staff", force="staffs"))
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
