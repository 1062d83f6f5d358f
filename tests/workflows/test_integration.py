"""Requests opened by other domains: a staff declaration, an owner's review."""

from __future__ import annotations

from tests.factories import make_account
from tests.workflows.test_kinds import API, move
from tests.workflows.world import STAFF_SUB, events, make_world, reload


async def test_a_staff_declaration_opens_a_registration_request(client, tokens, session):
    await make_world(session)
    staff = tokens.headers("staff", sub=STAFF_SUB)
    r = await client.post(
        f"{API}/accounts",
        json={"url": "https://x.com/StaffsBeatTeam", "classification": "unofficial"},
        headers=staff,
    )
    assert r.status_code == 201, r.text
    account_id = r.json()["id"]
    listed = (await client.get(f"{API}/requests?account_id={account_id}", headers=staff)).json()
    [request] = listed["items"]
    assert (request["kind"], request["status"]) == ("registration", "submitted")
    assert request["requested_by"] == STAFF_SUB
    r = await move(client, tokens.headers("comms_admin"), request["id"], "approve")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    r = await client.get(f"{API}/accounts/{account_id}", headers=staff)
    assert r.json()["status"] == "active"


async def test_comms_admin_registration_opens_no_request(client, tokens, session):
    await make_world(session)
    admin = tokens.headers("comms_admin")
    r = await client.post(
        f"{API}/accounts",
        json={"url": "https://x.com/StaffsPolice", "classification": "corporate"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert (await client.get(f"{API}/requests", headers=admin)).json()["items"] == []


async def test_an_owner_saying_not_needed_opens_a_decommission_request(client, tokens, session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    staff = tokens.headers("staff", sub=STAFF_SUB)
    r = await client.post(
        f"{API}/accounts/{account.id}/attest",
        json={"still_needed": False, "note": "team merged"},
        headers=staff,
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["request_id"]
    assert request_id is not None
    request = (await client.get(f"{API}/requests/{request_id}", headers=staff)).json()
    assert request["kind"] == "decommission" and request["details"] == {"reason_code": "other"}
    assert "team merged" in request["reason"]
    # Saying it again links the same open request rather than failing.
    r = await client.post(
        f"{API}/accounts/{account.id}/attest", json={"still_needed": False}, headers=staff
    )
    assert r.status_code == 201 and r.json()["request_id"] == request_id
    assert len(await events(session, "request.submitted")) == 1


async def test_still_needed_opens_nothing(client, tokens, session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    staff = tokens.headers("staff", sub=STAFF_SUB)
    r = await client.post(
        f"{API}/accounts/{account.id}/attest", json={"still_needed": True}, headers=staff
    )
    assert r.status_code == 201 and r.json()["request_id"] is None
    assert (await client.get(f"{API}/requests", headers=staff)).json()["items"] == []
    assert (await reload(session, account)).status == "active"
