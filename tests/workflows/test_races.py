"""Real concurrent HTTP calls against a uvicorn process on the test database."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa

from app.models import Request
from tests.factories import make_account
from tests.workflows.world import STAFF_SUB, events, make_world, reload

RACERS = 8


async def _race(base: str, calls: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        return await asyncio.gather(
            *(http.post(path, json=body, headers=headers) for path, body, headers in calls)
        )


async def test_eight_racing_approvals_one_wins_and_the_effect_applies_once(
    live_server, tokens, session
):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
        r = await http.post(
            "/api/v1/requests",
            json={
                "kind": "decommission",
                "account_id": str(account.id),
                "details": {"reason_code": "dormant"},
            },
            headers=tokens.headers("staff", sub=STAFF_SUB),
        )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    # Eight different approvers, so that four-eyes or caching cannot serialise them.
    calls = [
        (
            f"/api/v1/requests/{rid}/approve",
            {"comment": f"approver {n}"},
            tokens.headers("comms_admin", sub=f"approver-{n}"),
        )
        for n in range(RACERS)
    ]
    answers = await _race(live_server, calls)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * (RACERS - 1), [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"invalid-transition"}
    assert len(await events(session, "request.approved", rid)) == 1
    assert len(await events(session, "account.decommissioning", account.id)) == 1
    assert (await reload(session, account)).status == "decommissioning"
    winner = next(a for a in answers if a.status_code == 200).json()
    assert len(winner["decisions"]) == 1


async def test_racing_submissions_for_one_account_open_exactly_one_request(
    live_server, tokens, session
):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    calls = [
        (
            "/api/v1/requests",
            {
                "kind": "decommission",
                "account_id": str(account.id),
                "reason": f"racer {n}",
                "details": {"reason_code": "dormant"},
            },
            tokens.headers("comms_admin", sub=f"submitter-{n}"),
        )
        for n in range(RACERS)
    ]
    answers = await _race(live_server, calls)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (RACERS - 1), [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"request-already-open"}
    count = await session.scalar(
        sa.select(sa.func.count()).select_from(Request).where(Request.account_id == account.id)
    )
    await session.commit()
    assert count == 1
    assert len(await events(session, "request.submitted")) == 1
