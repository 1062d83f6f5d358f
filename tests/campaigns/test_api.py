"""Review campaigns through the API: scope snapshot, progress as JSON and CSV, closing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.models import AuditEvent, CampaignItem
from tests.factories import make_account, make_force, make_person, make_unit

CAMPAIGNS = "/api/v1/campaigns"


async def _world(session):
    force = await make_force(session, "staffs")
    other = await make_force(session, "wmids")
    north = await make_unit(session, force, name="North")
    south = await make_unit(session, force, name="South")
    owner = await make_person(session, force, subject="owner@staffs", name="Olive Owner")
    leaver = await make_person(session, force, name="Len Leaver", status="left")
    accounts = {
        "n1": await make_account(session, force, owner=owner, unit_id=north.id),
        "n2": await make_account(session, force, owner=owner, unit_id=north.id),
        "s1": await make_account(session, force, owner=leaver, unit_id=south.id),
        "s2": await make_account(session, force, unit_id=south.id),  # no owner
        "gone": await make_account(session, force, owner=owner, status="decommissioned"),
        "fb": await make_account(session, force, owner=owner, platform="facebook"),
    }
    await make_account(session, other, owner=await make_person(session, other))
    return force, north, south, owner, accounts


def _body(**kw):
    body = {
        "name": "Annual review 2026",
        "filter": {"platform": "x"},
        "due_on": (clock.today() + timedelta(days=30)).isoformat(),
        "message": "Please confirm each account is still needed.",
    }
    body.update(kw)
    return body


async def test_campaign_snapshots_its_scope_and_reports_progress(client, tokens, session):
    _force, _north, _south, _owner, accounts = await _world(session)
    h = tokens.headers("comms_admin")
    r = await client.post(CAMPAIGNS, json=_body(), headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"{CAMPAIGNS}/{body['id']}"
    # Live x accounts of the force only: not the decommissioned one, facebook, other force.
    assert body["total"] == 4 and body["status"] == "open" and body["force"] == "staffs"
    assert body["progress"]["by_status"] == {
        "pending": 2, "attested": 0, "overdue": 0, "orphaned": 2
    }  # fmt: skip
    units = {u["unit"]: u for u in body["progress"]["by_unit"]}
    assert units["North"]["by_status"]["pending"] == 2
    assert units["South"]["by_status"]["orphaned"] == 2
    items = (await session.scalars(sa.select(CampaignItem))).all()
    assert {i.account_id for i in items} == {accounts[k].id for k in ("n1", "n2", "s1", "s2")}
    await session.commit()

    # The owner attests through the one attestation route: the item counts as attested.
    as_owner = tokens.headers("staff", sub="owner@staffs")
    a = await client.post(
        f"/api/v1/accounts/{accounts['n1'].id}/attest", json={"still_needed": True},
        headers=as_owner,
    )  # fmt: skip
    assert a.status_code in (200, 201), a.text
    got = (await client.get(f"{CAMPAIGNS}/{body['id']}", headers=h)).json()
    assert got["progress"]["by_status"]["attested"] == 1
    assert got["progress"]["by_status"]["pending"] == 1

    # CSV: a line per unit and the total.
    r = await client.get(f"{CAMPAIGNS}/{body['id']}", headers={**h, "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    by_unit = {row["unit"]: row for row in rows}
    assert by_unit["North"]["attested"] == "1" and by_unit["North"]["pending"] == "1"
    assert by_unit["(all)"]["total"] == "4" and by_unit["(all)"]["orphaned"] == "2"

    # Past the due day, what is not attested is overdue.
    clock.freeze(clock.now() + timedelta(days=31))
    got = (await client.get(f"{CAMPAIGNS}/{body['id']}", headers=h)).json()
    assert got["progress"]["by_status"] == {
        "pending": 0, "attested": 1, "overdue": 1, "orphaned": 2
    }  # fmt: skip

    # Closing records the result; a second close is a conflict.
    closed = await client.post(f"{CAMPAIGNS}/{body['id']}/close", headers=h)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["result"]["by_status"]["overdue"] == 1
    again = await client.post(f"{CAMPAIGNS}/{body['id']}/close", headers=h)
    assert again.status_code == 409 and again.json()["code"] == "campaign-closed"
    actions = (
        await session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.entity_id == body["id"])
        )
    ).all()
    assert list(actions) == ["campaign.created", "campaign.closed"]
    await session.commit()

    listed = (await client.get(CAMPAIGNS, headers=h)).json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]


async def test_who_may_run_campaigns(client, tokens, session):
    await _world(session)
    h = tokens.headers("comms_admin")
    made = (await client.post(CAMPAIGNS, json=_body(), headers=h)).json()
    for role in ("staff", "psd", "collector", "auditor"):
        force = None if role == "auditor" else "staffs"
        headers = tokens.headers(role, force=force)
        assert (await client.post(CAMPAIGNS, json=_body(), headers=headers)).status_code == 403
        assert (await client.get(f"{CAMPAIGNS}/{made['id']}", headers=headers)).status_code == 403
    assert (await client.get(CAMPAIGNS)).status_code == 401
    other = tokens.headers("comms_admin", force="wmids")
    assert (await client.get(f"{CAMPAIGNS}/{made['id']}", headers=other)).status_code == 404
    assert (await client.get(CAMPAIGNS, headers=other)).json()["items"] == []
    admin = tokens.headers("admin", force=None)
    # National callers name the force.
    r = await client.post(CAMPAIGNS, json=_body(), headers=admin)
    assert r.status_code == 422
    r = await client.post(CAMPAIGNS, json=_body(filter={"force": "staffs"}), headers=admin)
    assert r.status_code == 201 and r.json()["total"] == 5


async def test_bad_campaigns_are_refused_and_write_nothing(client, tokens, session):
    await _world(session)
    h = tokens.headers("comms_admin")
    past = _body(due_on=clock.today().isoformat())
    empty = _body(filter={"platform": "tiktok"})
    for body in (past, _body(name=""), _body(filter={"flag": "nope"}), _body(extra=1)):
        r = await client.post(CAMPAIGNS, json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # Nothing in scope (today): a conflict with the registry's state.
    r = await client.post(CAMPAIGNS, json=empty, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "empty-campaign"
    assert (await session.scalars(sa.select(CampaignItem))).all() == []
    await session.commit()
    missing = await client.get(f"{CAMPAIGNS}/00000000-0000-0000-0000-000000000000", headers=h)
    assert missing.status_code == 404
