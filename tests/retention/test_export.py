"""GET /people/{id}/export: everything held about a person, for PSD and admins."""

from __future__ import annotations

from tests.factories import (
    make_account,
    make_attestation,
    make_force,
    make_guideline,
    make_person,
    make_request,
    sign,
)


async def test_psd_exports_everything_held_about_a_person(client, tokens, session):
    staffs = await make_force(session, "staffs")
    await make_force(session, "wmids")
    person = await make_person(session, staffs, subject="sam@staffs", name="Sam Subject")
    account = await make_account(session, staffs, owner=person)
    await sign(session, person, await make_guideline(session, staffs))
    await make_attestation(session, account, person, note="Still used for appeals.")
    request = await make_request(session, account, requested_by="sam@staffs")
    r = await client.patch(
        f"/api/v1/people/{person.id}",
        json={"job_title": "Sergeant"},
        headers={**tokens.headers("comms_admin"), "If-Match": "*"},
    )
    assert r.status_code == 200, r.text

    r = await client.get(f"/api/v1/people/{person.id}/export", headers=tokens.headers("psd"))
    assert r.status_code == 200, r.text
    held = r.json()
    assert held["person"]["name"] == "Sam Subject" and held["person"]["job_title"] == "Sergeant"
    assert [(c["account_id"], c["role"]) for c in held["custody"]] == [(str(account.id), "owner")]
    assert len(held["signoffs"]) == 1
    assert [a["note"] for a in held["attestations"]] == ["Still used for appeals."]
    assert [q["id"] for q in held["requests"]] == [str(request.id)]
    actions = {e["action"] for e in held["audit_events"]}
    assert "person.updated" in actions  # about them
    assert any(e["actor_sub"] == "sam@staffs" for e in held["audit_events"])  # by them
    admin = await client.get(
        f"/api/v1/people/{person.id}/export", headers=tokens.headers("admin", force=None)
    )
    assert admin.status_code == 200 and admin.json() == held


async def test_only_psd_of_the_force_and_admins_export(client, tokens, session):
    staffs = await make_force(session, "staffs")
    await make_force(session, "wmids")
    person = await make_person(session, staffs, subject="sam@staffs")
    url = f"/api/v1/people/{person.id}/export"
    for roles, force, status in (
        (("comms_admin",), "staffs", 403),
        (("staff",), "staffs", 403),
        (("auditor",), None, 403),
        (("psd",), "wmids", 404),
    ):
        r = await client.get(url, headers=tokens.headers(*roles, force=force, sub="sam@staffs"))
        assert r.status_code == status, (roles, force, r.text)
    assert (await client.get(url)).status_code == 401
