"""Registrations racing over real HTTP against a served app (separate process, real pool)."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa

from app.models import Account
from tests.factories import make_force, make_person


async def test_two_concurrent_registrations_of_one_handle_one_wins(live_server, tokens, session):
    await make_force(session, "staffs")
    await make_force(session, "wmids")
    headers = [tokens.headers("comms_admin", force=f) for f in ("staffs", "wmids")]
    body = {"url": "https://x.com/RaceDogs", "classification": "official"}
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
        results = await asyncio.gather(
            *(client.post("/api/v1/accounts", json=body, headers=h) for h in headers)
        )
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["code"] == "duplicate-account"
    count = await session.scalar(sa.select(sa.func.count()).select_from(Account))
    assert count == 1


async def test_many_concurrent_declarations_of_one_handle_leave_one_live_record(
    live_server, tokens, session
):
    force = await make_force(session, "staffs")
    for n in range(6):
        await make_person(session, force, subject=f"pc-{n}")
    body = {"platform": "tiktok", "handle": "@racing", "classification": "unofficial"}
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
        results = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/accounts", json=body, headers=tokens.headers("staff", sub=f"pc-{n}")
                )
                for n in range(6)
            )
        )
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 5, [r.text for r in results]
    count = await session.scalar(sa.select(sa.func.count()).select_from(Account))
    assert count == 1
