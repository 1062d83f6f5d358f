"""SCIM credentials: issued by an admin per force, shown once, stored hashed, and good
for nothing but /scim/v2 in their own force."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from app.models import AuditEvent, ScimCredential
from tests.factories import make_person
from tests.scim.conftest import SCIM, bearer, issue_credential, user_body

API = "/api/v1"


async def test_admin_issues_a_secret_shown_once_and_stored_only_as_its_hash(
    client, tokens, forces, session
):
    made = await issue_credential(client, tokens, name="entra-id")
    assert set(made) == {"id", "name", "secret"} and made["name"] == "entra-id"
    assert made["secret"].startswith("scim_") and len(made["secret"]) > 40
    stored = await session.scalar(sa.select(ScimCredential))
    assert stored.secret_sha256 == hashlib.sha256(made["secret"].encode()).hexdigest()
    listed = await client.get(
        f"{API}/forces/staffs/scim-credentials", headers=tokens.headers("admin", force=None)
    )
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == made["id"] and item["revoked_at"] is None
    assert made["secret"] not in listed.text
    events = (await session.scalars(sa.select(AuditEvent))).all()
    assert [e.action for e in events] == ["scim_credential.created"]
    assert made["secret"] not in str(events[0].changes)


async def test_only_admins_manage_credentials(client, tokens, forces):
    for roles in (("comms_admin",), ("psd",), ("staff",)):
        r = await client.post(
            f"{API}/forces/staffs/scim-credentials",
            json={"name": "x"},
            headers=tokens.headers(*roles),
        )
        assert r.status_code == 403, (roles, r.text)
    r = await client.get(f"{API}/forces/staffs/scim-credentials")
    assert r.status_code == 401


async def test_a_duplicate_name_or_unknown_force_is_refused(client, tokens, forces):
    await issue_credential(client, tokens, name="entra")
    admin = tokens.headers("admin", force=None)
    r = await client.post(
        f"{API}/forces/staffs/scim-credentials", json={"name": "entra"}, headers=admin
    )
    assert r.status_code == 409 and r.json()["code"] == "duplicate-scim-credential"
    r = await client.post(
        f"{API}/forces/nowhere/scim-credentials", json={"name": "e"}, headers=admin
    )
    assert r.status_code == 404
    r = await client.post(f"{API}/forces/staffs/scim-credentials", json={"name": ""}, headers=admin)
    assert r.status_code == 422


async def test_rotation_stops_the_old_secret_and_revocation_stops_the_new(client, tokens, forces):
    made = await issue_credential(client, tokens)
    admin = tokens.headers("admin", force=None)
    assert (await client.get(f"{SCIM}/Users", headers=bearer(made["secret"]))).status_code == 200
    r = await client.post(
        f"{API}/forces/staffs/scim-credentials/{made['id']}/rotate", headers=admin
    )
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["id"] == made["id"] and rotated["secret"] != made["secret"]
    old = await client.get(f"{SCIM}/Users", headers=bearer(made["secret"]))
    assert old.status_code == 401
    assert old.headers["content-type"].startswith("application/scim+json")
    assert old.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert (await client.get(f"{SCIM}/Users", headers=bearer(rotated["secret"]))).status_code == 200
    r = await client.delete(f"{API}/forces/staffs/scim-credentials/{made['id']}", headers=admin)
    assert r.status_code == 204
    assert (await client.get(f"{SCIM}/Users", headers=bearer(rotated["secret"]))).status_code == 401
    r = await client.post(
        f"{API}/forces/staffs/scim-credentials/{made['id']}/rotate", headers=admin
    )
    assert r.status_code == 409
    # Another force's path does not reach the credential.
    r = await client.delete(f"{API}/forces/wmids/scim-credentials/{made['id']}", headers=admin)
    assert r.status_code == 404


async def test_a_scim_secret_opens_nothing_outside_scim(client, tokens, forces, scim):
    for path in ("/me", "/people", "/accounts", "/forces", "/forces/staffs/scim-credentials"):
        r = await client.get(f"{API}{path}", headers=scim)
        assert r.status_code == 401, (path, r.text)
    r = await client.post(f"{API}/people", json={"staff_id": "X1", "name": "X"}, headers=scim)
    assert r.status_code == 401


async def test_a_token_opens_nothing_under_scim(client, tokens, forces):
    for roles, force in ((("admin",), None), (("comms_admin",), "staffs")):
        r = await client.get(f"{SCIM}/Users", headers=tokens.headers(*roles, force=force))
        assert r.status_code == 401
        r = await client.post(
            f"{SCIM}/Users", json=user_body(), headers=tokens.headers(*roles, force=force)
        )
        assert r.status_code == 401
    assert (await client.get(f"{SCIM}/Users")).status_code == 401


async def test_a_credential_sees_and_changes_only_its_own_force(client, tokens, forces, session):
    staffs, _wmids = forces
    theirs = await make_person(session, staffs, subject="someone@staffs.police.uk")
    wm = bearer((await issue_credential(client, tokens, force="wmids"))["secret"])
    listed = await client.get(f"{SCIM}/Users", headers=wm)
    assert listed.status_code == 200 and listed.json()["totalResults"] == 0
    assert (await client.get(f"{SCIM}/Users/{theirs.id}", headers=wm)).status_code == 404
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    assert (
        await client.patch(f"{SCIM}/Users/{theirs.id}", json=patch, headers=wm)
    ).status_code == 404
    assert (await client.delete(f"{SCIM}/Users/{theirs.id}", headers=wm)).status_code == 404
    # The same userName provisioned by wmids is wmids's own person, not staffs's.
    r = await client.post(f"{SCIM}/Users", json=user_body("someone@staffs.police.uk"), headers=wm)
    assert r.status_code == 201
    await session.refresh(theirs)
    assert theirs.status == "active" and r.json()["id"] != str(theirs.id)


async def test_no_token_can_carry_the_provisioning_role(client, tokens, forces):
    r = await client.get("/api/v1/people", headers=tokens.headers("provisioning"))
    assert r.status_code == 403 and r.json()["code"] == "no-known-role"
