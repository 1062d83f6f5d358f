from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app import clock
from app.models import AuditEvent, Signoff
from tests.factories import (
    make_account,
    make_force,
    make_guideline,
    make_person,
    sign,
)

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
API = "/api/v1"


def body(**kw):
    text = kw.pop("text", "Be professional.")
    data = {
        "code": "social-media",
        "title": "Social media guidelines",
        "document_url": "https://intranet.example/sm.pdf",
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "effective_from": "2026-06-01T00:00:00Z",
    }
    data.update(kw)
    return data


# --- publishing ------------------------------------------------------------------


async def test_comms_admin_publishes_a_force_guideline_with_server_assigned_versions(
    client, tokens, session
):
    await make_force(session)
    headers = tokens.headers("comms_admin")
    r = await client.post(f"{API}/guidelines", json=body(), headers=headers)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["force"] == "staffs"
    assert first["version"] == 1
    assert r.headers["location"] == f"{API}/guidelines/{first['id']}"
    r = await client.post(f"{API}/guidelines", json=body(requires_resign=False), headers=headers)
    assert r.json()["version"] == 2
    assert r.json()["requires_resign"] is False
    events = (await session.scalars(sa.select(AuditEvent.action))).all()
    assert events.count("guideline.created") == 2


async def test_admin_publishes_national_and_named_force_guidelines(client, tokens, session):
    await make_force(session)
    admin = tokens.headers("admin", force=None)
    r = await client.post(f"{API}/guidelines", json=body(version=3), headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["force"] is None
    assert r.json()["version"] == 3
    r = await client.post(f"{API}/guidelines", json=body(force="staffs"), headers=admin)
    assert r.json()["force"] == "staffs"
    assert r.json()["version"] == 1  # a force's document is separate from the national one


async def test_a_version_not_above_the_latest_is_refused(client, tokens, session):
    await make_force(session)
    headers = tokens.headers("comms_admin")
    assert (
        await client.post(f"{API}/guidelines", json=body(version=2), headers=headers)
    ).is_success
    for version in (1, 2):
        r = await client.post(f"{API}/guidelines", json=body(version=version), headers=headers)
        assert r.status_code == 409
        assert r.json()["code"] == "version-not-rising"


async def test_guideline_input_is_validated(client, tokens, session):
    await make_force(session)
    headers = tokens.headers("comms_admin")
    bad = [
        body(sha256="abc"),
        body(effective_from="2026-06-01T00:00:00"),  # no zone
        body(document_url="ftp://x"),
        body(title="x" * 201),
        body(version=0),
        body(extra="no"),
        body(force="other"),
    ]
    for data in bad:
        r = await client.post(f"{API}/guidelines", json=data, headers=headers)
        assert r.status_code == 422, data


async def test_publishing_needs_comms_admin_or_admin(client, tokens, session):
    await make_force(session)
    r = await client.post(f"{API}/guidelines", json=body())
    assert r.status_code == 401
    for role in ("staff", "psd", "collector", "auditor"):
        force = None if role == "auditor" else "staffs"
        r = await client.post(
            f"{API}/guidelines", json=body(), headers=tokens.headers(role, force=force)
        )
        assert r.status_code == 403, role


# --- reading -------------------------------------------------------------------


async def test_list_shows_national_and_own_force_with_current_flag(client, tokens, session):
    clock.freeze(T)
    staffs = await make_force(session)
    other = await make_force(session, "wmids")
    await make_guideline(session, version=1, effective_from=T - timedelta(days=10))
    await make_guideline(session, version=2, effective_from=T - timedelta(days=1))
    await make_guideline(session, version=3, effective_from=T + timedelta(days=5))
    await make_guideline(session, staffs, code="local", effective_from=T - timedelta(days=1))
    await make_guideline(session, other, code="theirs", effective_from=T - timedelta(days=1))
    r = await client.get(f"{API}/guidelines", headers=tokens.headers("staff"))
    items = r.json()["items"]
    assert [(g["code"], g["version"], g["current"]) for g in items] == [
        ("local", 1, True),
        ("social-media", 1, False),
        ("social-media", 2, True),
        ("social-media", 3, False),
    ]
    r = await client.get(f"{API}/guidelines?current=true", headers=tokens.headers("staff"))
    assert [(g["code"], g["version"]) for g in r.json()["items"]] == [
        ("local", 1),
        ("social-media", 2),
    ]


async def test_list_pages_with_a_cursor(client, tokens, session):
    await make_force(session)
    for v in range(1, 6):
        await make_guideline(session, version=v)
    headers = tokens.headers("staff")
    seen, cursor = [], None
    while True:
        url = f"{API}/guidelines?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=headers)).json()
        seen += [g["version"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5]
    r = await client.get(f"{API}/guidelines?cursor=bogus", headers=headers)
    assert r.status_code == 422


async def test_another_forces_guideline_is_not_found(client, tokens, session):
    await make_force(session)
    other = await make_force(session, "wmids")
    theirs = await make_guideline(session, other)
    r = await client.get(f"{API}/guidelines/{theirs.id}", headers=tokens.headers("staff"))
    assert r.status_code == 404
    r = await client.get(f"{API}/guidelines/{theirs.id}")
    assert r.status_code == 401
    r = await client.get(
        f"{API}/guidelines/{theirs.id}", headers=tokens.headers("admin", force=None)
    )
    assert r.status_code == 200


# --- signing -------------------------------------------------------------------


async def test_signing_is_idempotent_and_records_the_exact_version(client, tokens, session):
    force = await make_force(session)
    await make_person(session, force, subject="alice")
    guideline = await make_guideline(session, version=4)
    headers = tokens.headers("staff", sub="alice")
    r = await client.post(f"{API}/guidelines/{guideline.id}/signoffs", headers=headers)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["version"], first["sha256"], first["code"]) == (
        4,
        guideline.sha256,
        "social-media",
    )
    assert r.headers["location"] == f"{API}/signoffs/{first['id']}"
    r = await client.post(f"{API}/guidelines/{guideline.id}/signoffs", headers=headers)
    assert r.status_code == 200
    assert r.json() == first
    assert await session.scalar(sa.select(sa.func.count()).select_from(Signoff)) == 1
    actions = (await session.scalars(sa.select(AuditEvent.action))).all()
    assert actions.count("guideline.signed") == 1


async def test_signing_with_an_idempotency_key_replays_the_first_answer(client, tokens, session):
    force = await make_force(session)
    await make_person(session, force, subject="alice")
    guideline = await make_guideline(session)
    headers = {**tokens.headers("staff", sub="alice"), "Idempotency-Key": "k1"}
    first = await client.post(f"{API}/guidelines/{guideline.id}/signoffs", headers=headers)
    again = await client.post(f"{API}/guidelines/{guideline.id}/signoffs", headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()


async def test_signing_needs_a_person_record(client, tokens, session):
    await make_force(session)
    guideline = await make_guideline(session)
    r = await client.post(
        f"{API}/guidelines/{guideline.id}/signoffs", headers=tokens.headers("staff", sub="nobody")
    )
    assert r.status_code == 409
    assert r.json()["code"] == "no-person-record"


async def test_signing_roles_and_scope(client, tokens, session):
    await make_force(session)
    other = await make_force(session, "wmids")
    theirs = await make_guideline(session, other)
    ours = await make_guideline(session)
    assert (await client.post(f"{API}/guidelines/{ours.id}/signoffs")).status_code == 401
    r = await client.post(
        f"{API}/guidelines/{ours.id}/signoffs", headers=tokens.headers("collector")
    )
    assert r.status_code == 403
    r = await client.post(f"{API}/guidelines/{theirs.id}/signoffs", headers=tokens.headers("staff"))
    assert r.status_code == 404


# --- who has signed, who has not ----------------------------------------------


async def test_person_signoffs_visible_to_oversight_and_to_the_person(client, tokens, session):
    force = await make_force(session)
    other_force = await make_force(session, "wmids")
    alice = await make_person(session, force, subject="alice")
    bob = await make_person(session, force, subject="bob")
    stranger = await make_person(session, other_force)
    guideline = await make_guideline(session)
    await sign(session, alice, guideline)
    url = f"{API}/people/{alice.id}/signoffs"
    for headers in (tokens.headers("staff", sub="alice"), tokens.headers("psd")):
        r = await client.get(url, headers=headers)
        assert r.status_code == 200
        assert [s["version"] for s in r.json()["items"]] == [1]
        assert r.json()["items"][0]["person"] == {"id": str(alice.id), "name": alice.name}
    assert (await client.get(url, headers=tokens.headers("staff", sub="bob"))).status_code == 403
    assert (await client.get(url)).status_code == 401
    r = await client.get(f"{API}/people/{stranger.id}/signoffs", headers=tokens.headers("psd"))
    assert r.status_code == 404
    assert bob  # bob exists but is not alice


async def test_outstanding_lists_operators_of_live_accounts_with_due_dates(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session, signoff_grace_days=30)
    owner = await make_person(session, force, name="Owner")
    editor = await make_person(session, force, name="Editor")
    signed = await make_person(session, force, name="Signed")
    idle = await make_person(session, force, name="Idle")
    closed_owner = await make_person(session, force, name="Closed")
    guideline = await make_guideline(session, effective_from=T - timedelta(days=40))
    await sign(session, signed, guideline)
    await make_account(session, force, owner=owner, editors=(editor,))
    await make_account(session, force, owner=signed)
    await make_account(session, force, owner=closed_owner, status="decommissioned")
    assert idle
    r = await client.get(
        f"{API}/signoffs?status=outstanding", headers=tokens.headers("comms_admin")
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert sorted(i["person"]["name"] for i in items) == ["Editor", "Owner"]
    assert {i["due_on"] for i in items} == {str((T - timedelta(days=10)).date())}
    assert all(i["overdue"] and i["guideline_id"] == str(guideline.id) for i in items)


async def test_outstanding_pages_and_is_scoped(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    other = await make_force(session, "wmids")
    await make_guideline(session, effective_from=T - timedelta(days=1))
    for _ in range(3):
        await make_account(session, force, owner=await make_person(session, force))
    await make_account(session, other, owner=await make_person(session, other))
    headers = tokens.headers("psd")
    page = (await client.get(f"{API}/signoffs?limit=2", headers=headers)).json()
    assert len(page["items"]) == 2
    rest = (
        await client.get(f"{API}/signoffs?limit=2&cursor={page['next_cursor']}", headers=headers)
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    admin = tokens.headers("admin", force=None)
    assert len((await client.get(f"{API}/signoffs", headers=admin)).json()["items"]) == 4
    r = await client.get(f"{API}/signoffs?force=wmids", headers=admin)
    assert len(r.json()["items"]) == 1
    assert (await client.get(f"{API}/signoffs?force=wmids", headers=headers)).status_code == 404
    assert (await client.get(f"{API}/signoffs", headers=tokens.headers("staff"))).status_code == 403
    assert (await client.get(f"{API}/signoffs")).status_code == 401
    assert (await client.get(f"{API}/signoffs?status=done", headers=headers)).status_code == 422


async def test_get_signoff_by_id(client, tokens, session):
    force = await make_force(session)
    alice = await make_person(session, force, subject="alice")
    await make_person(session, force, subject="bob")
    signoff = await sign(session, alice, await make_guideline(session))
    url = f"{API}/signoffs/{signoff.id}"
    assert (await client.get(url, headers=tokens.headers("staff", sub="alice"))).status_code == 200
    assert (await client.get(url, headers=tokens.headers("staff", sub="bob"))).status_code == 403
    other = tokens.headers("comms_admin", force="wmids")
    await make_force(session, "wmids")
    assert (await client.get(url, headers=other)).status_code == 404
    assert (
        await client.get(f"{API}/signoffs/{uuid.uuid4()}", headers=tokens.headers("psd"))
    ).status_code == 404


async def test_reads_need_a_token(client, session):
    force = await make_force(session)
    person = await make_person(session, force)
    signoff = await sign(session, person, await make_guideline(session))
    for path in (
        "/guidelines",
        "/guidelines?current=true",
        "/signoffs",
        f"/signoffs/{signoff.id}",
        f"/people/{person.id}/signoffs",
    ):
        r = await client.get(API + path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"].startswith("Bearer")
