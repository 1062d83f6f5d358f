"""Accounts over HTTP: registration, reading, edits, editors, look-ups, roles and scoping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Account, AuditEvent, Custodianship
from tests.accounts.common import API, comms
from tests.factories import (
    make_account,
    make_force,
    make_objective,
    make_person,
    make_unit,
)

# --- registration: every URL form ---------------------------------------------------


@pytest.mark.parametrize(
    ("given", "platform", "handle"),
    [
        ({"url": "https://x.com/StaffsPolDogs?s=20"}, "x", "staffspoldogs"),
        ({"url": "https://twitter.com/StaffsPolDogs"}, "x", "staffspoldogs"),
        ({"url": "https://mobile.twitter.com/StaffsPolDogs"}, "x", "staffspoldogs"),
        ({"url": "twitter.com/StaffsPolDogs"}, "x", "staffspoldogs"),
        (
            {"url": "https://www.facebook.com/StaffordshirePolice"},
            "facebook",
            "staffordshirepolice",
        ),
        ({"url": "https://www.instagram.com/staffs_police/"}, "instagram", "staffs_police"),
        ({"url": "https://www.youtube.com/@StaffsPolice"}, "youtube", "staffspolice"),
        ({"url": "https://www.tiktok.com/@staffspolice"}, "tiktok", "staffspolice"),
        ({"platform": "x", "handle": "@StaffsPolDogs "}, "x", "staffspoldogs"),
        ({"platform": "twitter", "handle": "StaffsPolDogs"}, "x", "staffspoldogs"),
    ],
)
async def test_registration_parses_each_url_form(client, tokens, staffs, given, platform, handle):
    body = {**given, "display_name": "Dogs", "classification": "official"}
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["platform"], got["handle"]) == (platform, handle)
    assert got["url"].startswith("https://")
    assert got["status"] == "active"
    assert got["force"] == "staffs"
    assert r.headers["location"] == f"{API}/accounts/{got['id']}"


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"url": "https://x.com/home"}, "url"),
        ({"url": "https://youtu.be/abc"}, "url"),
        ({"platform": "x", "handle": "way-too-long-for-x-handles"}, "handle"),
        ({"platform": "myspace", "handle": "abc"}, "platform"),
        ({"platform": "x"}, "handle"),
        ({"url": "https://x.com/abc", "platform": "facebook"}, "handle"),
    ],
)
async def test_bad_handle_or_url_is_422_naming_the_field(client, tokens, staffs, given, field):
    body = {**given, "classification": "official"}
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == ["body", field]


async def test_unknown_body_field_is_422(client, tokens, staffs):
    body = {"url": "https://x.com/abc", "classification": "official", "colour": "blue"}
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    assert r.status_code == 422


async def test_registration_with_owner_unit_objectives_and_review_date(
    client, tokens, session, staffs
):
    owner = await make_person(session, staffs, name="Ann Owner")
    unit = await make_unit(session, staffs)
    await make_objective(session, staffs, code="ENGAGE")
    await make_objective(session, staffs, code="APPEALS")
    body = {
        "url": "https://x.com/staffsdogs",
        "display_name": "Staffs Dogs",
        "classification": "official",
        "owner_id": str(owner.id),
        "unit_id": str(unit.id),
        "objectives": ["ENGAGE", "APPEALS"],
        "platform_account_id": "12345",
        "is_anonymous": False,
    }
    clock.freeze(datetime(2026, 3, 1, 12, tzinfo=UTC))
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["owner"] == {"id": str(owner.id), "name": "Ann Owner"}
    assert got["editors"] == []
    assert got["objectives"] == ["APPEALS", "ENGAGE"]
    assert got["unit_id"] == str(unit.id)
    assert got["platform_account_id"] == "12345"
    assert got["review_due_on"] == "2027-03-01"
    assert got["version"] == 1
    assert got["legal_hold"] is False
    assert got["flags"] == []
    custody = (await session.scalars(sa.select(Custodianship))).all()
    assert [(c.person_id, c.role, c.valid_to) for c in custody] == [(owner.id, "owner", None)]


async def test_owner_unit_and_objectives_must_belong_to_the_force(
    client, tokens, session, staffs, wmids
):
    other_person = await make_person(session, wmids)
    left = await make_person(session, staffs, status="left")
    other_unit = await make_unit(session, wmids)
    await make_objective(session, staffs, code="OLD", active=False)
    base = {"url": "https://x.com/abc", "classification": "official"}
    for extra, field in (
        ({"owner_id": str(other_person.id)}, "owner_id"),
        ({"owner_id": str(left.id)}, "owner_id"),
        ({"unit_id": str(other_unit.id)}, "unit_id"),
        ({"objectives": ["OLD"]}, "objectives"),
        ({"objectives": ["NOPE"]}, "objectives"),
    ):
        r = await client.post(f"{API}/accounts", json={**base, **extra}, headers=comms(tokens))
        assert r.status_code == 422, (extra, r.text)
        assert r.json()["errors"][0]["loc"] == ["body", field]


async def test_national_admin_names_the_force(client, tokens, staffs):
    admin = tokens.headers("admin", force=None)
    body = {"url": "https://x.com/abc", "classification": "corporate"}
    r = await client.post(f"{API}/accounts", json=body, headers=admin)
    assert r.status_code == 422
    r = await client.post(f"{API}/accounts", json={**body, "force": "nowhere"}, headers=admin)
    assert r.status_code == 404
    r = await client.post(f"{API}/accounts", json={**body, "force": "staffs"}, headers=admin)
    assert r.status_code == 201
    assert r.json()["force"] == "staffs"


async def test_comms_admin_may_register_in_any_status(client, tokens, staffs):
    body = {"url": "https://x.com/oldone", "classification": "official", "status": "suspended"}
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    assert r.status_code == 201
    assert r.json()["status"] == "suspended"
    assert r.json()["review_due_on"] is None


async def test_registration_is_audited(client, tokens, session, staffs):
    body = {"url": "https://x.com/abc", "classification": "official"}
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    event = await session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "account.created")
    )
    assert event is not None
    assert event.entity_id == r.json()["id"]
    assert event.changes["handle"] == [None, "abc"]
    assert event.changes["status"] == [None, "active"]


# --- staff declarations -------------------------------------------------------------


async def test_staff_declares_an_account_they_run_pending_with_themselves_as_owner(
    client, tokens, session, staffs
):
    me = await make_person(session, staffs, subject="pc-ann", name="PC Ann")
    headers = tokens.headers("staff", sub="pc-ann")
    body = {"url": "https://x.com/pcann", "classification": "unofficial"}
    r = await client.post(f"{API}/accounts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["status"] == "pending_approval"
    assert got["owner"] == {"id": str(me.id), "name": "PC Ann"}
    r = await client.get(f"{API}/accounts/{got['id']}", headers=headers)
    assert r.status_code == 200


async def test_staff_without_a_person_record_cannot_declare(client, tokens, staffs):
    body = {"url": "https://x.com/pcann", "classification": "unofficial"}
    r = await client.post(f"{API}/accounts", json=body, headers=tokens.headers("staff"))
    assert r.status_code == 409
    assert r.json()["code"] == "no-person-record"


async def test_staff_may_not_declare_for_someone_else_or_choose_the_status(
    client, tokens, session, staffs
):
    await make_person(session, staffs, subject="pc-ann")
    colleague = await make_person(session, staffs)
    headers = tokens.headers("staff", sub="pc-ann")
    body = {"url": "https://x.com/pcann", "classification": "unofficial"}
    r = await client.post(
        f"{API}/accounts", json={**body, "owner_id": str(colleague.id)}, headers=headers
    )
    assert r.status_code == 403
    r = await client.post(f"{API}/accounts", json={**body, "status": "active"}, headers=headers)
    assert r.status_code == 403
    assert (await session.scalar(sa.select(sa.func.count()).select_from(Account))) == 0


# --- duplicates ----------------------------------------------------------------------


async def test_duplicate_live_handle_is_409_across_forces(client, tokens, session, staffs, wmids):
    await make_account(session, wmids, platform="x", handle="shared")
    body = {"url": "https://twitter.com/Shared", "classification": "official"}
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-account"


async def test_released_handles_may_be_registered_again(client, tokens, session, staffs):
    await make_account(session, staffs, platform="x", handle="reused", status="decommissioned")
    await make_account(session, staffs, platform="x", handle="reused", status="rejected")
    body = {"url": "https://x.com/reused", "classification": "official"}
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    assert r.status_code == 201


async def test_duplicate_insert_past_the_check_is_still_a_clean_409(
    client, tokens, session, staffs, monkeypatch
):
    from app.accounts import repository

    await make_account(session, staffs, platform="x", handle="racer")

    async def no_duplicate(*_args, **_kwargs):
        return None  # as if the other registration committed just after our check

    monkeypatch.setattr(repository, "live_duplicate", no_duplicate)
    body = {"url": "https://x.com/racer", "classification": "official"}
    r = await client.post(f"{API}/accounts", json=body, headers=comms(tokens))
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-account"


# --- idempotency ---------------------------------------------------------------------


async def test_idempotency_key_replays_the_first_answer(client, tokens, session, staffs):
    headers = {**comms(tokens), "Idempotency-Key": "k-1"}
    body = {"url": "https://x.com/once", "classification": "official"}
    first = await client.post(f"{API}/accounts", json=body, headers=headers)
    again = await client.post(f"{API}/accounts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert (await session.scalar(sa.select(sa.func.count()).select_from(Account))) == 1


async def test_idempotency_key_with_a_different_body_is_422(client, tokens, staffs):
    headers = {**comms(tokens), "Idempotency-Key": "k-2"}
    r = await client.post(
        f"{API}/accounts",
        json={"url": "https://x.com/one", "classification": "official"},
        headers=headers,
    )
    assert r.status_code == 201
    r = await client.post(
        f"{API}/accounts",
        json={"url": "https://x.com/two", "classification": "official"},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency-key-reused"


async def test_idempotency_keys_are_per_caller(client, tokens, session, staffs):
    body = {"url": "https://x.com/one", "classification": "official"}
    first = {**tokens.headers("comms_admin", sub="a"), "Idempotency-Key": "same"}
    second = {**tokens.headers("comms_admin", sub="b"), "Idempotency-Key": "same"}
    assert (await client.post(f"{API}/accounts", json=body, headers=first)).status_code == 201
    r = await client.post(f"{API}/accounts", json=body, headers=second)
    assert r.status_code == 409  # not a replay of a's answer: b really tried to register it
    assert r.json()["code"] == "duplicate-account"


# --- reading ---------------------------------------------------------------------------


async def test_get_returns_every_field_and_an_etag(client, tokens, session, staffs):
    owner = await make_person(session, staffs, name="Owner")
    editor = await make_person(session, staffs, name="Editor")
    objective = await make_objective(session, staffs, code="ENGAGE")
    account = await make_account(
        session, staffs, owner=owner, editors=(editor,), objectives=(objective,)
    )
    r = await client.get(f"{API}/accounts/{account.id}", headers=comms(tokens))
    assert r.status_code == 200
    got = r.json()
    assert set(got) == {
        "id", "force", "platform", "handle", "url", "platform_account_id", "display_name",
        "classification", "status", "is_anonymous", "unit_id", "objectives", "owner",
        "editors", "operators_redacted", "review_due_on", "last_post_at", "flags",
        "legal_hold", "version", "created_at", "updated_at",
    }  # fmt: skip
    assert got["owner"] == {"id": str(owner.id), "name": "Owner"}
    assert got["editors"] == [{"id": str(editor.id), "name": "Editor"}]
    assert got["objectives"] == ["ENGAGE"]
    assert r.headers["etag"] == '"v1"'


async def test_get_of_unknown_or_malformed_id(client, tokens, staffs):
    r = await client.get(f"{API}/accounts/{uuid.uuid4()}", headers=comms(tokens))
    assert r.status_code == 404
    assert r.json()["code"] == "account-not-found"
    r = await client.get(f"{API}/accounts/not-a-uuid", headers=comms(tokens))
    assert r.status_code == 422


# --- PATCH ---------------------------------------------------------------------------


async def test_patch_needs_if_match_and_refuses_stale_versions(client, tokens, session, staffs):
    account = await make_account(session, staffs, display_name="Old")
    url = f"{API}/accounts/{account.id}"
    headers = comms(tokens)
    r = await client.patch(url, json={"display_name": "New"}, headers=headers)
    assert r.status_code == 428
    r = await client.patch(
        url, json={"display_name": "New"}, headers={**headers, "If-Match": '"v9"'}
    )
    assert r.status_code == 412
    etag = (await client.get(url, headers=headers)).headers["etag"]
    r = await client.patch(url, json={"display_name": "New"}, headers={**headers, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "New"
    assert r.headers["etag"] == '"v2"'
    r = await client.patch(
        url, json={"display_name": "Newer"}, headers={**headers, "If-Match": etag}
    )
    assert r.status_code == 412


async def test_patch_edits_descriptive_fields_and_audits(client, tokens, session, staffs):
    unit = await make_unit(session, staffs)
    await make_objective(session, staffs, code="ENGAGE")
    account = await make_account(session, staffs, handle="oldname")
    body = {
        "url": "https://twitter.com/NewName",
        "platform_account_id": "999",
        "unit_id": str(unit.id),
        "objectives": ["ENGAGE"],
        "is_anonymous": True,
    }
    r = await client.patch(
        f"{API}/accounts/{account.id}",
        json=body,
        headers={**comms(tokens), "If-Match": '"v1"'},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["handle"], got["url"]) == ("newname", "https://x.com/newname")
    assert got["objectives"] == ["ENGAGE"]
    assert got["is_anonymous"] is True
    assert got["unit_id"] == str(unit.id)
    event = await session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "account.updated")
    )
    assert event.changes["handle"] == ["oldname", "newname"]
    assert event.changes["objectives"] == [[], ["ENGAGE"]]


async def test_patch_objectives_alone_changes_the_etag(client, tokens, session, staffs):
    await make_objective(session, staffs, code="ENGAGE")
    account = await make_account(session, staffs)
    r = await client.patch(
        f"{API}/accounts/{account.id}", json={"objectives": ["ENGAGE"]},
        headers={**comms(tokens), "If-Match": '"v1"'},
    )  # fmt: skip
    assert r.headers["etag"] == '"v2"'


@pytest.mark.parametrize(
    "body",
    [
        {"status": "active"},
        {"classification": "corporate"},
        {"owner_id": str(uuid.UUID(int=1))},
        {"handle": "other"},
        {"display_name": None},
        {"url": "https://www.facebook.com/somewhere.else"},
        {"display_name": "x" * 201},
    ],
)
async def test_patch_refuses_other_fields_and_bad_values(client, tokens, session, staffs, body):
    account = await make_account(session, staffs)
    r = await client.patch(
        f"{API}/accounts/{account.id}",
        json=body,
        headers={**comms(tokens), "If-Match": '"v1"'},
    )
    assert r.status_code == 422, r.text


async def test_patch_to_a_handle_already_registered_is_409(client, tokens, session, staffs):
    await make_account(session, staffs, handle="taken")
    account = await make_account(session, staffs, handle="mine")
    r = await client.patch(
        f"{API}/accounts/{account.id}", json={"url": "https://x.com/taken"},
        headers={**comms(tokens), "If-Match": '"v1"'},
    )  # fmt: skip
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-account"


# --- 401 / 403 / 404 for every endpoint ----------------------------------------------

ENDPOINTS = [
    ("GET", "/accounts", None),
    ("POST", "/accounts", {"url": "https://x.com/abc", "classification": "official"}),
    ("GET", "/accounts/{id}", None),
    ("PATCH", "/accounts/{id}", {"display_name": "x"}),
    ("POST", "/accounts/{id}/editors", {"person_id": "{person}"}),
    ("DELETE", "/accounts/{id}/editors/{person}", None),
    ("GET", "/accounts/{id}/custodians", None),
    ("GET", "/accounts/{id}/history", None),
    ("GET", "/people/{person}/accounts", None),
    ("GET", "/lookup?url=https://x.com/abc", None),
]


def _fill(path, body, account_id, person_id):
    path = path.replace("{id}", str(account_id)).replace("{person}", str(person_id))
    if body is not None:
        body = {k: v.replace("{person}", str(person_id)) if isinstance(v, str) else v
                for k, v in body.items()}  # fmt: skip
    return path, body


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_every_endpoint_needs_a_token(client, method, path, body):
    path, body = _fill(path, body, uuid.uuid4(), uuid.uuid4())
    r = await client.request(method, API + path, json=body)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_a_token_without_a_known_role_is_403(client, tokens, session, method, path, body):
    await make_force(session, "staffs")
    path, body = _fill(path, body, uuid.uuid4(), uuid.uuid4())
    r = await client.request(method, API + path, json=body, headers=tokens.headers("janitor"))
    assert r.status_code == 403


WRONG_ROLES = [
    ("POST", "/accounts", {"url": "https://x.com/abc", "classification": "official"}, "psd"),
    ("POST", "/accounts", {"url": "https://x.com/abc", "classification": "official"}, "auditor"),
    ("POST", "/accounts", {"url": "https://x.com/abc", "classification": "official"}, "collector"),
    ("PATCH", "/accounts/{id}", {"display_name": "x"}, "staff"),
    ("PATCH", "/accounts/{id}", {"display_name": "x"}, "psd"),
    ("POST", "/accounts/{id}/editors", {"person_id": "{person}"}, "staff"),
    ("DELETE", "/accounts/{id}/editors/{person}", None, "psd"),
    ("GET", "/accounts/{id}/custodians", None, "staff"),
    ("GET", "/accounts/{id}/custodians", None, "auditor"),
    ("GET", "/accounts/{id}/history", None, "staff"),
    ("GET", "/accounts/{id}/history", None, "auditor"),
    ("GET", "/people/{person}/accounts", None, "staff"),
    ("GET", "/lookup?url=https://x.com/abc", None, "staff"),
    ("GET", "/lookup?url=https://x.com/abc", None, "collector"),
]


@pytest.mark.parametrize(("method", "path", "body", "role"), WRONG_ROLES)
async def test_wrong_role_is_403(client, tokens, session, method, path, body, role):
    force = await make_force(session, "staffs")
    person = await make_person(session, force)
    account = await make_account(session, force, owner=person)
    path, body = _fill(path, body, account.id, person.id)
    national = role in ("auditor", "admin")
    headers = tokens.headers(role, force=None if national else "staffs")
    r = await client.request(method, API + path, json=body, headers=headers)
    assert r.status_code == 403, r.text


OTHER_FORCE = [e for e in ENDPOINTS if "{id}" in e[1] or "{person}" in e[1]]


@pytest.mark.parametrize(("method", "path", "body"), OTHER_FORCE)
async def test_another_forces_account_is_404(client, tokens, session, method, path, body):
    await make_force(session, "staffs")
    theirs = await make_force(session, "wmids")
    person = await make_person(session, theirs)
    account = await make_account(session, theirs, owner=person, editors=(person,))
    path, body = _fill(path, body, account.id, person.id)
    headers = {**comms(tokens), "If-Match": '"v1"'}
    r = await client.request(method, API + path, json=body, headers=headers)
    assert r.status_code == 404, r.text


async def test_lookup_of_another_forces_account_finds_nothing(client, tokens, session):
    await make_force(session, "staffs")
    theirs = await make_force(session, "wmids")
    await make_account(session, theirs, handle="theirs")
    r = await client.get(f"{API}/lookup?url=https://x.com/theirs", headers=tokens.headers("psd"))
    assert r.json() == {"items": []}
    r = await client.get(
        f"{API}/lookup?url=https://x.com/theirs", headers=tokens.headers("admin", force=None)
    )
    assert len(r.json()["items"]) == 1
