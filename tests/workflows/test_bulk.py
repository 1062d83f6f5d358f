"""POST /requests/bulk: one request per account a GET /accounts filter matches."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import sqlalchemy as sa

from app import clock
from app.models import AuditEvent, Request
from tests.factories import make_account, make_hold, make_request, make_unit
from tests.workflows.world import make_world

BULK = "/api/v1/requests/bulk"


async def _dormant(session, force, n, **kw):
    since = clock.now() - timedelta(days=200)
    return [await make_account(session, force, since=since, **kw) for _ in range(n)]


def _body(**kw):
    body = {
        "kind": "decommission",
        "filter": {"flag": "dormant"},
        "reason": "Dormant for months: the inspectorate's recommendation.",
        "details": {"reason_code": "dormant"},
    }
    body.update(kw)
    return body


async def _requests(session):
    rows = (await session.scalars(sa.select(Request))).all()
    await session.commit()
    return rows


async def test_dry_run_says_what_would_open_and_writes_nothing(client, tokens, session):
    w = await make_world(session)
    dormant = await _dormant(session, w.force, 3, owner=w.officer)
    await make_account(session, w.force, owner=w.officer)  # active lately: not dormant
    r = await client.post(BULK, json=_body(dry_run=True), headers=tokens.headers("comms_admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dry_run"] is True and body["would_open"] == 3 and body["opened"] is None
    assert sorted(body["account_ids"]) == sorted(str(a.id) for a in dormant)
    assert body["request_ids"] == [] and body["skipped"] == []
    assert await _requests(session) == []
    events = (await session.scalars(sa.select(AuditEvent))).all()
    assert not [e for e in events if e.action == "request.submitted"]


async def test_bulk_decommission_opens_one_request_per_match_and_skips_open_and_held(
    client, tokens, session
):
    w = await make_world(session)
    a, b, c, d = await _dormant(session, w.force, 4, owner=w.officer)
    await make_request(session, c)  # already open
    await make_hold(session, d)
    other_force = await _dormant(session, w.other, 1)
    r = await client.post(BULK, json=_body(), headers=tokens.headers("comms_admin"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["opened"] == 2 and body["dry_run"] is False
    assert sorted(body["account_ids"]) == sorted([str(a.id), str(b.id)])
    assert sorted((s["account_id"], s["reason"]) for s in body["skipped"]) == sorted(
        [(str(c.id), "request-already-open"), (str(d.id), "legal-hold")]
    )
    opened = {r.id: r for r in await _requests(session) if str(r.id) in body["request_ids"]}
    assert len(opened) == 2
    for req in opened.values():
        assert req.kind == "decommission" and req.status == "submitted"
        assert req.details == {"reason_code": "dormant"}
        assert req.requested_by == "comms_admin@staffs"
        assert req.account_id not in {o.id for o in other_force}
    submitted = (
        await session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "request.submitted"))
    ).all()
    assert sorted(e.entity_id for e in submitted if e.entity_id in body["request_ids"]) == sorted(
        body["request_ids"]
    )
    await session.commit()


async def test_each_bulk_request_still_needs_another_pair_of_eyes(client, tokens, session):
    w = await make_world(session)
    await _dormant(session, w.force, 1, owner=w.officer)
    me = tokens.headers("comms_admin", sub="lead@staffs")
    r = await client.post(BULK, json=_body(), headers=me)
    rid = r.json()["request_ids"][0]
    own = await client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=me)
    assert own.status_code == 403 and own.json()["code"] == "four-eyes"
    other = tokens.headers("comms_admin", sub="deputy@staffs")
    ok = await client.post(f"/api/v1/requests/{rid}/approve", json={}, headers=other)
    assert ok.status_code == 200 and ok.json()["status"] == "approved"


async def test_centralisation_redirects_a_units_accounts_to_one(client, tokens, session):
    w = await make_world(session)
    dogs = await make_unit(session, w.force, name="Dog unit")
    team = [await make_account(session, w.force, unit_id=dogs.id) for _ in range(3)]
    central = await make_account(session, w.force, handle="staffsdogs")
    body = _body(
        filter={"unit_id": str(dogs.id)},
        details={"reason_code": "centralised", "redirect_account_id": str(central.id)},
    )
    r = await client.post(BULK, json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 201, r.text
    assert sorted(r.json()["account_ids"]) == sorted(str(a.id) for a in team)
    reqs = [x for x in await _requests(session) if str(x.id) in r.json()["request_ids"]]
    assert {x.details["redirect_account_id"] for x in reqs} == {str(central.id)}


async def test_a_bad_detail_for_one_account_opens_nothing(client, tokens, session):
    w = await make_world(session)
    dogs = await make_unit(session, w.force)
    team = [await make_account(session, w.force, unit_id=dogs.id) for _ in range(2)]
    # Redirecting an account to itself is refused: the whole call opens nothing.
    body = _body(
        filter={"unit_id": str(dogs.id)},
        details={"reason_code": "centralised", "redirect_account_id": str(team[0].id)},
    )
    r = await client.post(BULK, json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["account_id"] == str(team[0].id)
    assert await _requests(session) == []


async def test_transfer_of_repost_heavy_unofficial_accounts(client, tokens, session):
    w = await make_world(session)
    from tests.factories import make_activity

    today = clock.today()
    heavy = await make_account(session, w.force, classification="unofficial", owner=w.officer)
    official = await make_account(session, w.force, owner=w.officer)
    for account in (heavy, official):
        await make_activity(
            session, account, today - timedelta(days=30), today, original_posts=1, reposts=20
        )
    body = _body(kind="transfer", filter={"flag": "repost_heavy"}, details={})
    r = await client.post(BULK, json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 201, r.text
    assert r.json()["account_ids"] == [str(heavy.id)]
    assert r.json()["skipped"] == [{"account_id": str(official.id), "reason": "invalid-request"}]


async def test_more_matches_than_the_cap_is_a_problem_and_opens_nothing(
    app, client, tokens, session
):
    w = await make_world(session)
    await _dormant(session, w.force, 3)
    app.state.settings.bulk_max_requests = 2
    try:
        r = await client.post(BULK, json=_body(), headers=tokens.headers("comms_admin"))
    finally:
        app.state.settings.bulk_max_requests = 500
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "too-many-accounts"
    assert problem["would_open"] == 3 and problem["max_requests"] == 2
    assert await _requests(session) == []


async def test_who_may_bulk(client, tokens, session):
    w = await make_world(session)
    await _dormant(session, w.force, 1)
    await _dormant(session, w.other, 1)
    for role in ("staff", "psd", "auditor", "collector"):
        force = None if role == "auditor" else "staffs"
        r = await client.post(
            BULK, json=_body(dry_run=True), headers=tokens.headers(role, force=force)
        )
        assert r.status_code == 403, role
    assert (await client.post(BULK, json=_body(dry_run=True))).status_code == 401
    # comms_admin: its own force only; naming another is 404.
    own = await client.post(BULK, json=_body(dry_run=True), headers=tokens.headers("comms_admin"))
    assert own.json()["would_open"] == 1
    foreign = _body(dry_run=True, filter={"flag": "dormant", "force": "wmids"})
    r = await client.post(BULK, json=foreign, headers=tokens.headers("comms_admin"))
    assert r.status_code == 404
    admin = await client.post(
        BULK, json=_body(dry_run=True), headers=tokens.headers("admin", force=None)
    )
    assert admin.json()["would_open"] == 2


async def test_bad_bodies_are_422_problems(client, tokens, session):
    await make_world(session)
    h = tokens.headers("comms_admin")
    for body in (
        _body(kind="registration"),
        _body(details={"reason_code": "bored"}),
        _body(filter={"flag": "no_such_flag"}),
        _body(filter={"colour": "blue"}),
        _body(dry_run="yes"),
    ):
        r = await client.post(BULK, json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_two_racing_bulk_calls_open_no_duplicates(live_server, tokens, session):
    w = await make_world(session)
    accounts = await _dormant(session, w.force, 12)
    headers = [tokens.headers("comms_admin", sub=f"admin{i}@staffs") for i in range(4)]
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
        answers = await asyncio.gather(*(http.post(BULK, json=_body(), headers=h) for h in headers))
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    opened = sum(a.json()["opened"] for a in answers)
    assert opened == len(accounts)
    rows = await _requests(session)
    assert len(rows) == len(accounts)
    assert len({r.account_id for r in rows}) == len(accounts)
    for a in answers:
        assert a.json()["opened"] + len(a.json()["skipped"]) == len(accounts)
