from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from app import clock
from app.models import Account, ActivityPeriod, AuditEvent
from tests.factories import make_account, make_force

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
API = "/api/v1"


def figures(**kw):
    data = {
        "period_start": "2026-05-01",
        "period_end": "2026-05-31",
        "original_posts": 20,
        "reposts": 5,
        "replies": 9,
        "followers": 1500,
        "last_post_at": "2026-05-30T18:00:00Z",
    }
    data.update(kw)
    return data


async def periods(session, account) -> list[ActivityPeriod]:
    query = sa.select(ActivityPeriod).where(ActivityPeriod.account_id == account.id)
    rows = list((await session.scalars(query.execution_options(populate_existing=True))).all())
    await session.commit()  # the test session begins IMMEDIATE on SQLite: release the lock
    return rows


async def account_row(session, account):
    row = (
        await session.execute(
            sa.select(Account.last_post_at, Account.version).where(Account.id == account.id)
        )
    ).one()
    await session.commit()
    return tuple(row)


async def test_first_post_creates_then_the_same_period_updates(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    account = await make_account(session, force)
    url = f"{API}/accounts/{account.id}/activity"
    headers = tokens.headers("collector")
    r = await client.post(url, json=figures(), headers=headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"{url}/{created['id']}"
    r = await client.post(url, json=figures(replies=12, followers=1600), headers=headers)
    assert r.status_code == 200
    assert r.json()["id"] == created["id"]
    assert (r.json()["replies"], r.json()["followers"]) == (12, 1600)
    rows = await periods(session, account)
    assert len(rows) == 1 and rows[0].replies == 12
    actions = (await session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert actions == ["activity.recorded", "activity.updated"]
    r = await client.get(r.headers["location"], headers=tokens.headers("psd"))
    assert r.json()["replies"] == 12


async def test_last_post_at_only_moves_forward_and_bumps_the_account_version(
    client, tokens, session
):
    clock.freeze(T)
    force = await make_force(session)
    account = await make_account(session, force)
    url = f"{API}/accounts/{account.id}/activity"
    headers = tokens.headers("comms_admin")
    await client.post(url, json=figures(), headers=headers)
    latest, version = await account_row(session, account)
    assert latest == datetime(2026, 5, 30, 18, tzinfo=UTC)
    assert version == 2
    older = figures(
        period_start="2026-04-01", period_end="2026-04-30", last_post_at="2026-04-29T09:00:00Z"
    )
    assert (await client.post(url, json=older, headers=headers)).status_code == 201
    assert await account_row(session, account) == (latest, 2)
    newer = figures(period_start="2026-06-01", period_end="2026-06-14",
                    last_post_at="2026-06-14T09:00:00Z")  # fmt: skip
    await client.post(url, json=newer, headers=headers)
    assert (await account_row(session, account)) == (datetime(2026, 6, 14, 9, tzinfo=UTC), 3)


async def test_invalid_figures_are_refused(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    account = await make_account(session, force)
    url = f"{API}/accounts/{account.id}/activity"
    headers = tokens.headers("collector")
    for bad in (
        figures(reposts=-1),
        figures(followers=10**9 + 1),
        figures(period_end="2026-04-30"),
        figures(last_post_at=(T + timedelta(seconds=1)).isoformat()),
        figures(last_post_at="2026-05-30T18:00:00"),
        figures(period_start="not a date"),
        figures(colour="blue"),
    ):
        r = await client.post(url, json=bad, headers=headers)
        assert r.status_code == 422, bad
        assert r.headers["content-type"] == "application/problem+json"
    assert await periods(session, account) == []
    ok = figures(last_post_at=T.isoformat(), followers=10**9)
    assert (await client.post(url, json=ok, headers=headers)).status_code == 201


async def test_a_period_without_last_post_leaves_the_account_alone(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    account = await make_account(session, force)
    r = await client.post(
        f"{API}/accounts/{account.id}/activity",
        json=figures(last_post_at=None, original_posts=0, reposts=0, replies=0),
        headers=tokens.headers("collector"),
    )
    assert r.status_code == 201
    assert await account_row(session, account) == (None, 1)


async def test_activity_roles_and_scope(client, tokens, session):
    clock.freeze(T)
    await make_force(session)
    other = await make_force(session, "wmids")
    theirs = await make_account(session, other)
    url = f"{API}/accounts/{theirs.id}/activity"
    assert (await client.post(url, json=figures())).status_code == 401
    for role in ("staff", "psd"):
        r = await client.post(url, json=figures(), headers=tokens.headers(role))
        assert r.status_code == 403, role
    r = await client.post(url, json=figures(), headers=tokens.headers("collector"))
    assert r.status_code == 404
    r = await client.post(
        f"{API}/accounts/{uuid.uuid4()}/activity", json=figures(), headers=tokens.headers("admin")
    )
    assert r.status_code == 404
    r = await client.post(url, json=figures(), headers=tokens.headers("admin", force=None))
    assert r.status_code == 201
    assert (await client.get(url, headers=tokens.headers("staff"))).status_code == 403
    assert (await client.get(url, headers=tokens.headers("psd"))).status_code == 404
    assert (await client.get(url, headers=tokens.headers("auditor", force=None))).status_code == 200


async def test_activity_list_is_newest_first_and_paged(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    account = await make_account(session, force)
    url = f"{API}/accounts/{account.id}/activity"
    headers = tokens.headers("collector")
    for month in (1, 2, 3):
        data = figures(period_start=f"2026-0{month}-01", period_end=f"2026-0{month}-28")
        assert (await client.post(url, json=data, headers=headers)).is_success
    page = (await client.get(f"{url}?limit=2", headers=headers)).json()
    assert [p["period_start"] for p in page["items"]] == ["2026-03-01", "2026-02-01"]
    rest = (await client.get(f"{url}?limit=2&cursor={page['next_cursor']}", headers=headers)).json()
    assert [p["period_start"] for p in rest["items"]] == ["2026-01-01"]
    assert rest["next_cursor"] is None


async def test_racing_upserts_of_one_period_insert_once(live_server, tokens, session):
    force = await make_force(session)
    account = await make_account(session, force)
    url = f"{API}/accounts/{account.id}/activity"
    headers = tokens.headers("collector")
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.post(url, json=figures(followers=n, last_post_at=None), headers=headers)
                for n in range(8)
            )
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 7 + [201], [a.text for a in answers]
    assert len(await periods(session, account)) == 1


async def test_reading_one_period_is_scoped(client, tokens, session):
    clock.freeze(T)
    await make_force(session)
    other = await make_force(session, "wmids")
    theirs = await make_account(session, other)
    r = await client.post(
        f"{API}/accounts/{theirs.id}/activity",
        json=figures(),
        headers=tokens.headers("collector", force="wmids"),
    )
    url = r.headers["location"]
    assert (await client.get(url)).status_code == 401
    assert (
        await client.get(url, headers=tokens.headers("staff", force="wmids"))
    ).status_code == 403
    assert (await client.get(url, headers=tokens.headers("comms_admin"))).status_code == 404
    assert (await client.get(url, headers=tokens.headers("comms_admin", force="wmids"))).is_success
    missing = f"{API}/accounts/{theirs.id}/activity/{uuid.uuid4()}"
    r = await client.get(missing, headers=tokens.headers("comms_admin", force="wmids"))
    assert r.status_code == 404
