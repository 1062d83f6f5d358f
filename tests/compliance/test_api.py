from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from app import clock
from app.models import Account, Attestation, AuditEvent
from tests.factories import make_account, make_force, make_person

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
API = "/api/v1"


async def fetch(session, query):
    row = (await session.execute(query)).one()
    await session.commit()  # the test session begins IMMEDIATE on SQLite: release the lock
    return row


async def test_owner_attests_and_the_next_review_is_set(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session, review_interval_days=180)
    owner = await make_person(session, force, subject="owner")
    account = await make_account(session, force, owner=owner, review_due_on=date(2026, 6, 1))
    r = await client.post(
        f"{API}/accounts/{account.id}/attest",
        json={"still_needed": True, "note": "Busy community account."},
        headers=tokens.headers("staff", sub="owner"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["review_due_on"] == str(T.date() + timedelta(days=180))
    assert body["person"] == {"id": str(owner.id), "name": owner.name}
    assert body["request_id"] is None
    assert r.headers["location"] == f"{API}/accounts/{account.id}/attestations/{body['id']}"
    due, version = await fetch(
        session, sa.select(Account.review_due_on, Account.version).where(Account.id == account.id)
    )
    assert (due, version) == (T.date() + timedelta(days=180), 2)
    event = await fetch(
        session,
        sa.select(AuditEvent.action, AuditEvent.changes).where(
            AuditEvent.entity_id == str(account.id)
        ),
    )
    assert event.action == "account.attested"
    assert event.changes["review_due_on"] == ["2026-06-01", "2026-12-12"]
    r = await client.get(r.headers["location"], headers=tokens.headers("staff", sub="owner"))
    assert r.status_code == 200


async def test_attesting_not_needed_is_recorded_and_audited(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    owner = await make_person(session, force, subject="owner")
    account = await make_account(session, force, owner=owner)
    r = await client.post(
        f"{API}/accounts/{account.id}/attest",
        json={"still_needed": False, "note": "Team merged."},
        headers=tokens.headers("staff", sub="owner"),
    )
    assert r.status_code == 201
    stored = await fetch(session, sa.select(Attestation.still_needed, Attestation.note))
    assert tuple(stored) == (False, "Team merged.")
    event = await fetch(
        session, sa.select(AuditEvent.changes).where(AuditEvent.action == "account.attested")
    )
    assert event.changes["still_needed"] == [None, False]


async def test_only_the_current_owner_may_attest(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    owner = await make_person(session, force, subject="owner")
    await make_person(session, force, subject="editor")
    account = await make_account(session, force, owner=owner)
    url = f"{API}/accounts/{account.id}/attest"
    for role, sub in (("staff", "editor"), ("comms_admin", "editor")):
        r = await client.post(
            url, json={"still_needed": True}, headers=tokens.headers(role, sub=sub)
        )
        assert r.status_code == 403, role
        assert r.json()["code"] == "not-owner"
    r = await client.post(
        url, json={"still_needed": True}, headers=tokens.headers("comms_admin", sub="ghost")
    )
    assert r.status_code == 409
    assert r.json()["code"] == "no-person-record"


async def test_attest_roles_scope_and_validation(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    other = await make_force(session, "wmids")
    owner = await make_person(session, force, subject="owner")
    account = await make_account(session, force, owner=owner)
    theirs = await make_account(session, other)
    url = f"{API}/accounts/{account.id}/attest"
    assert (await client.post(url, json={"still_needed": True})).status_code == 401
    for role in ("collector", "auditor"):
        headers = tokens.headers(role, force=None if role == "auditor" else "staffs")
        assert (
            await client.post(url, json={"still_needed": True}, headers=headers)
        ).status_code == 403
    owner_headers = tokens.headers("staff", sub="owner")
    r = await client.post(
        f"{API}/accounts/{theirs.id}/attest", json={"still_needed": True}, headers=owner_headers
    )
    assert r.status_code == 404
    r = await client.post(
        f"{API}/accounts/{uuid.uuid4()}/attest", json={"still_needed": True}, headers=owner_headers
    )
    assert r.status_code == 404
    for bad in ({}, {"still_needed": True, "note": "x" * 4001}, {"still_needed": True, "x": 1}):
        assert (await client.post(url, json=bad, headers=owner_headers)).status_code == 422


async def test_someone_elses_unofficial_account_is_not_found_for_staff(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    owner = await make_person(session, force, subject="owner")
    await make_person(session, force, subject="colleague")
    account = await make_account(session, force, owner=owner, classification="unofficial")
    r = await client.post(
        f"{API}/accounts/{account.id}/attest",
        json={"still_needed": True},
        headers=tokens.headers("staff", sub="colleague"),
    )
    assert r.status_code == 404


async def test_a_closed_account_is_not_reviewed(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    owner = await make_person(session, force, subject="owner")
    account = await make_account(session, force, owner=owner, status="decommissioned")
    r = await client.post(
        f"{API}/accounts/{account.id}/attest",
        json={"still_needed": True},
        headers=tokens.headers("staff", sub="owner"),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "account-not-live"


async def test_attestation_history_is_for_oversight_roles(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    owner = await make_person(session, force, subject="owner")
    account = await make_account(session, force, owner=owner)
    for hours, needed in ((0, True), (1, False)):
        clock.freeze(T + timedelta(hours=hours))
        await client.post(
            f"{API}/accounts/{account.id}/attest",
            json={"still_needed": needed},
            headers=tokens.headers("staff", sub="owner"),
        )
    url = f"{API}/accounts/{account.id}/attestations"
    page = (await client.get(f"{url}?limit=1", headers=tokens.headers("psd"))).json()
    assert [a["still_needed"] for a in page["items"]] == [True]
    rest = (
        await client.get(
            f"{url}?limit=1&cursor={page['next_cursor']}", headers=tokens.headers("psd")
        )
    ).json()
    assert [a["still_needed"] for a in rest["items"]] == [False]
    assert (await client.get(url, headers=tokens.headers("staff", sub="owner"))).status_code == 403
    other = tokens.headers("psd", force="wmids")
    await make_force(session, "wmids")
    assert (await client.get(url, headers=other)).status_code == 404


async def test_reading_one_attestation(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    owner = await make_person(session, force, subject="owner")
    await make_person(session, force, subject="other")
    account = await make_account(session, force, owner=owner)
    r = await client.post(
        f"{API}/accounts/{account.id}/attest",
        json={"still_needed": True},
        headers=tokens.headers("staff", sub="owner"),
    )
    url = r.headers["location"]
    assert (await client.get(url)).status_code == 401
    assert (await client.get(f"{API}/accounts/{account.id}/attestations")).status_code == 401
    assert (await client.get(url, headers=tokens.headers("staff", sub="other"))).status_code == 403
    assert (await client.get(url, headers=tokens.headers("collector"))).status_code == 403
    assert (await client.get(url, headers=tokens.headers("comms_admin"))).status_code == 200
    await make_force(session, "wmids")
    r = await client.get(url, headers=tokens.headers("comms_admin", force="wmids"))
    assert r.status_code == 404
    r = await client.get(
        f"{API}/accounts/{account.id}/attestations/{uuid.uuid4()}",
        headers=tokens.headers("comms_admin"),
    )
    assert r.status_code == 404
