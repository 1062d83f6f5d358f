"""Accounts over HTTP: editors, custodians at an instant, history, what a person operated,
and look-ups — the questions an investigation asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app import clock
from app.models import Custodianship
from tests.accounts.common import API, comms
from tests.factories import make_account, make_guideline, make_person, sign

# --- editors --------------------------------------------------------------------------


async def test_add_and_remove_an_editor(client, tokens, session, staffs):
    account = await make_account(session, staffs)
    person = await make_person(session, staffs, name="Ed")
    url = f"{API}/accounts/{account.id}/editors"
    r = await client.post(url, json={"person_id": str(person.id)}, headers=comms(tokens))
    assert r.status_code == 201, r.text
    assert r.json()["editors"] == [{"id": str(person.id), "name": "Ed"}]
    assert r.headers["location"] == f"{url}/{person.id}"
    assert r.json()["version"] == 2
    r = await client.post(url, json={"person_id": str(person.id)}, headers=comms(tokens))
    assert r.status_code == 409
    assert r.json()["code"] == "already-editor"
    r = await client.delete(f"{url}/{person.id}", headers=comms(tokens))
    assert r.status_code == 200
    assert r.json()["editors"] == []
    r = await client.delete(f"{url}/{person.id}", headers=comms(tokens))
    assert r.status_code == 404
    rows = (await session.scalars(sa.select(Custodianship))).all()
    assert len(rows) == 1 and rows[0].valid_to is not None  # the past stays on record


async def test_editor_must_have_signed_the_current_guidelines(client, tokens, session, staffs):
    account = await make_account(session, staffs)
    person = await make_person(session, staffs)
    v1 = await make_guideline(session, version=1)
    url = f"{API}/accounts/{account.id}/editors"
    r = await client.post(url, json={"person_id": str(person.id)}, headers=comms(tokens))
    assert r.status_code == 409
    assert r.json()["code"] == "guidelines-not-signed"
    await sign(session, person, v1)
    r = await client.post(url, json={"person_id": str(person.id)}, headers=comms(tokens))
    assert r.status_code == 201


async def test_editor_must_be_an_active_person_of_the_force(client, tokens, session, staffs, wmids):
    account = await make_account(session, staffs)
    url = f"{API}/accounts/{account.id}/editors"
    for person in (
        await make_person(session, wmids),
        await make_person(session, staffs, status="left"),
    ):
        r = await client.post(url, json={"person_id": str(person.id)}, headers=comms(tokens))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "person_id"]


# --- custodians, history, what a person operated -----------------------------------


async def test_custodians_at_an_instant_across_an_owner_change(client, tokens, session, staffs):
    from app.accounts import service
    from app.auth.principal import Principal

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    first = await make_person(session, staffs, name="First")
    second = await make_person(session, staffs, name="Second")
    account = await make_account(session, staffs, owner=first, since=t0)
    principal = Principal("sys", None, frozenset({"admin"}), None, None)
    t1 = t0 + timedelta(days=30)
    clock.freeze(t1)
    loaded = await service.get_visible(session, principal, account.id)
    await service.change_owner(session, principal, loaded, second.id, t1)
    await session.commit()
    clock.freeze(None)

    url = f"{API}/accounts/{account.id}/custodians"
    headers = tokens.headers("psd")
    r = await client.get(
        url, params={"at": (t1 - timedelta(seconds=1)).isoformat()}, headers=headers
    )
    assert r.json()["owner"] == {"id": str(first.id), "name": "First"}
    r = await client.get(url, params={"at": t1.isoformat()}, headers=headers)
    assert r.json()["owner"] == {"id": str(second.id), "name": "Second"}
    r = await client.get(url, params={"at": "2024-12-31T00:00:00"}, headers=headers)
    assert r.json() == {
        "at": "2024-12-31T00:00:00Z",
        "owner": None,
        "editors": [],
        "operators_redacted": False,
    }
    r = await client.get(url, headers=headers)
    assert r.json()["owner"]["id"] == str(second.id)

    people = f"{API}/people/{first.id}/accounts"
    r = await client.get(
        people, params={"at": (t0 + timedelta(days=1)).isoformat()}, headers=headers
    )
    assert r.status_code == 200
    assert [(i["account"]["id"], i["role"]) for i in r.json()["items"]] == [
        (str(account.id), "owner")
    ]
    r = await client.get(people, headers=headers)
    assert r.json()["items"] == []

    r = await client.get(f"{API}/accounts/{account.id}/history", headers=headers)
    assert r.status_code == 200
    custodian = [i for i in r.json()["items"] if i["kind"] == "custodian"]
    assert [(i["person"]["name"], i["valid_to"] is None) for i in custodian] == [
        ("First", False),
        ("Second", True),
    ]


async def test_history_shows_status_changes_from_the_audit_trail(client, tokens, session, staffs):
    owner = await make_person(session, staffs, subject="pc-ann")
    clock.freeze(datetime(2026, 1, 1, tzinfo=UTC))
    r = await client.post(
        f"{API}/accounts", json={"url": "https://x.com/pcann", "classification": "unofficial"},
        headers=tokens.headers("staff", sub="pc-ann"),
    )  # fmt: skip
    account_id = r.json()["id"]
    r = await client.get(f"{API}/accounts/{account_id}/history", headers=comms(tokens))
    items = r.json()["items"]
    assert [i["kind"] for i in items] == ["classification", "status", "custodian"]
    assert items[1]["old"] is None and items[1]["new"] == "pending_approval"
    assert items[1]["action"] == "account.created"
    assert items[2]["person"]["id"] == str(owner.id)


# --- lookup ----------------------------------------------------------------------------


async def test_lookup_finds_every_record_newest_first(client, tokens, session, staffs, wmids):
    t = datetime(2024, 1, 1, tzinfo=UTC)
    old = await make_account(session, staffs, handle="dogs", status="decommissioned", since=t)
    new = await make_account(session, staffs, handle="dogs", since=t + timedelta(days=9))
    await make_account(session, wmids, handle="dogs", status="decommissioned")
    await make_account(session, staffs, handle="cats")
    headers = tokens.headers("psd")
    r = await client.get(f"{API}/lookup", params={"url": "https://x.com/Dogs"}, headers=headers)
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == [str(new.id), str(old.id)]
    r = await client.get(
        f"{API}/lookup", params={"platform": "x", "handle": "@DOGS"}, headers=headers
    )
    assert [i["id"] for i in r.json()["items"]] == [str(new.id), str(old.id)]
    r = await client.get(f"{API}/lookup", params={"url": "https://x.com/home"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "url"]
    r = await client.get(f"{API}/lookup", headers=headers)
    assert r.status_code == 422
