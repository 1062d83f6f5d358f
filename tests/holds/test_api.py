"""Legal holds over HTTP: PSD place and release them; the account's flag follows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from tests.factories import make_account, make_force
from tests.workflows.world import events, reload

API = "/api/v1"
HOLD = {"case_reference": "PSD/2027/0042", "reason": "Complaint about a post on 3 March"}


@pytest.fixture
async def account(session):
    force = await make_force(session, "staffs")
    await make_force(session, "wmids")
    return await make_account(session, force)


def holds_url(account, hold_id=None):
    base = f"{API}/accounts/{account.id}/holds"
    return base if hold_id is None else f"{base}/{hold_id}"


async def test_psd_places_a_hold_and_the_account_is_flagged(client, tokens, session, account):
    psd = tokens.headers("psd")
    version = account.version
    r = await client.post(holds_url(account), json=HOLD, headers=psd)
    assert r.status_code == 201, r.text
    hold = r.json()
    assert r.headers["location"] == holds_url(account, hold["id"])
    assert hold["case_reference"] == HOLD["case_reference"] and hold["active"] is True
    assert hold["placed_by"] == "psd@staffs" and hold["force"] == "staffs"
    flagged = await reload(session, account)
    assert flagged.legal_hold is True and flagged.version == version + 1
    # The audit log (readable by comms teams) records the hold but not the case.
    placed = await events(session, "account.hold_placed", account.id)
    assert len(placed) == 1
    assert placed[0].changes == {"hold_id": [None, hold["id"]], "legal_hold": [False, True]}
    assert "PSD/2027" not in str(placed[0].changes)


async def test_release_keeps_the_hold_on_record_and_twice_is_409(client, tokens, session, account):
    psd = tokens.headers("psd")
    hold = (await client.post(holds_url(account), json=HOLD, headers=psd)).json()
    clock.freeze(datetime(2027, 6, 1, tzinfo=UTC))
    r = await client.delete(
        holds_url(account, hold["id"]), headers=tokens.headers("admin", force=None)
    )
    assert r.status_code == 200
    released = r.json()
    assert released["active"] is False and released["released_by"] == "admin@national"
    assert released["released_at"].startswith("2027-06-01")
    assert (await reload(session, account)).legal_hold is False
    r = await client.delete(holds_url(account, hold["id"]), headers=psd)
    assert r.status_code == 409 and r.json()["code"] == "hold-already-released"
    listed = (await client.get(holds_url(account), headers=psd)).json()["items"]
    assert [(h["id"], h["active"]) for h in listed] == [(hold["id"], False)]


async def test_the_flag_stays_while_any_hold_is_unreleased(client, tokens, session, account):
    psd = tokens.headers("psd")
    first = (await client.post(holds_url(account), json=HOLD, headers=psd)).json()
    second = (
        await client.post(holds_url(account), json={**HOLD, "case_reference": "B"}, headers=psd)
    ).json()
    version = (await reload(session, account)).version
    await client.delete(holds_url(account, first["id"]), headers=psd)
    still = await reload(session, account)
    assert still.legal_hold is True and still.version == version
    await client.delete(holds_url(account, second["id"]), headers=psd)
    assert (await reload(session, account)).legal_hold is False


async def test_holds_are_for_psd_and_admin_only(client, tokens, session, account):
    for role in ("staff", "comms_admin", "collector"):
        headers = tokens.headers(role)
        assert (await client.get(holds_url(account), headers=headers)).status_code == 403
        assert (
            await client.post(holds_url(account), json=HOLD, headers=headers)
        ).status_code == 403
    auditor = tokens.headers("auditor", force=None)
    assert (await client.get(holds_url(account), headers=auditor)).status_code == 403
    hold = (await client.post(holds_url(account), json=HOLD, headers=tokens.headers("psd"))).json()
    r = await client.delete(holds_url(account, hold["id"]), headers=tokens.headers("comms_admin"))
    assert r.status_code == 403
    assert (await client.get(holds_url(account))).status_code == 401
    assert (await client.post(holds_url(account), json=HOLD)).status_code == 401
    assert (await client.delete(holds_url(account, hold["id"]))).status_code == 401
    admin = tokens.headers("admin", force=None)
    assert (await client.get(holds_url(account), headers=admin)).status_code == 200


async def test_another_forces_account_or_hold_is_not_found(client, tokens, session, account):
    hold = (await client.post(holds_url(account), json=HOLD, headers=tokens.headers("psd"))).json()
    foreign = tokens.headers("psd", force="wmids")
    assert (await client.get(holds_url(account), headers=foreign)).status_code == 404
    assert (await client.post(holds_url(account), json=HOLD, headers=foreign)).status_code == 404
    r = await client.delete(holds_url(account, hold["id"]), headers=foreign)
    assert r.status_code == 404 and r.json()["code"] == "account-not-found"
    psd = tokens.headers("psd")
    r = await client.delete(holds_url(account, uuid.uuid4()), headers=psd)
    assert r.status_code == 404 and r.json()["code"] == "hold-not-found"
    missing = f"{API}/accounts/{uuid.uuid4()}/holds"
    assert (await client.get(missing, headers=psd)).status_code == 404


async def test_hold_bodies_are_validated(client, tokens, session, account):
    psd = tokens.headers("psd")
    for bad in (
        {},
        {"case_reference": "", "reason": "x"},
        {"case_reference": "x" * 201, "reason": "x"},
        {"case_reference": "A", "reason": "x" * 4001},
        {**HOLD, "released_at": "2027-01-01T00:00:00Z"},
    ):
        r = await client.post(holds_url(account), json=bad, headers=psd)
        assert r.status_code == 422, bad
    assert (await reload(session, account)).legal_hold is False


async def test_idempotent_hold_placement(client, tokens, session, account):
    psd = {**tokens.headers("psd"), "Idempotency-Key": "hold-1"}
    first = await client.post(holds_url(account), json=HOLD, headers=psd)
    again = await client.post(holds_url(account), json=HOLD, headers=psd)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    listed = (await client.get(holds_url(account), headers=psd)).json()["items"]
    assert len(listed) == 1
    r = await client.post(holds_url(account), json={**HOLD, "reason": "other"}, headers=psd)
    assert r.status_code == 422 and r.json()["code"] == "idempotency-key-reused"


async def test_holds_list_newest_first_in_keyset_pages(client, tokens, session, account):
    psd = tokens.headers("psd")
    start = datetime(2027, 1, 1, tzinfo=UTC)
    ids = []
    for n in range(5):
        clock.freeze(start + timedelta(days=n))
        body = {**HOLD, "case_reference": f"C{n}"}
        ids.append((await client.post(holds_url(account), json=body, headers=psd)).json()["id"])
    seen, cursor = [], None
    while True:
        url = holds_url(account) + "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=psd)).json()
        seen += [h["id"] for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    r = await client.get(holds_url(account) + "?cursor=bad", headers=psd)
    assert r.status_code == 422
