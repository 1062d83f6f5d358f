"""`registry demo` shows a review campaign in progress, made through the services."""

from __future__ import annotations

from app.demo import DEMO_CALLERS, build_demo


async def test_the_demo_has_a_campaign_in_progress(client, tokens, session):
    await build_demo(session)
    await session.commit()
    spec = next(c for c in DEMO_CALLERS if c["sub"] == "comms.lead@staffs")
    h = tokens.headers(*spec["roles"], force=spec["force"], sub=spec["sub"])
    (campaign,) = (await client.get("/api/v1/campaigns", headers=h)).json()["items"]
    got = (await client.get(f"/api/v1/campaigns/{campaign['id']}", headers=h)).json()
    assert got["status"] == "open" and got["total"] >= 3
    by_status = got["progress"]["by_status"]
    assert by_status["attested"] >= 1 and by_status["pending"] >= 1
    assert sum(by_status.values()) == got["total"]
