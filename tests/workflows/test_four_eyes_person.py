"""Four eyes follows the person, not the token subject (SPEC §6).

The attack: a comms admin submits a request, has their person record's `subject`
changed (PATCH /people/{id}), and approves their own request with a token under the new
subject. Where the requester and the caller are both linked to person records, the
registry compares the people; callers without a person record are compared by `sub`.
"""

from __future__ import annotations

from tests.factories import make_account, make_person
from tests.workflows.test_kinds import API, move, submit, tick
from tests.workflows.world import make_world

DECOMMISSION_ITEMS = (
    "final_post_published", "content_archived", "credentials_revoked", "closed_on_platform",
)  # fmt: skip


async def _change_subject(client, tokens, person_id, subject):
    r = await client.patch(
        f"{API}/people/{person_id}",
        json={"subject": subject},
        headers={**tokens.headers("admin", force=None), "If-Match": "*"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == subject


async def test_a_person_whose_subject_changed_cannot_decide_their_own_request(
    client, tokens, session
):
    w = await make_world(session)
    lead = await make_person(session, w.force, subject="s1", name="Comms Lead")
    account = await make_account(session, w.force, owner=w.officer)
    r = await submit(
        client, tokens.headers("comms_admin", sub="s1"), account, "decommission",
        {"reason_code": "dormant"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    await _change_subject(client, tokens, lead.id, "s2")

    same_person = tokens.headers("comms_admin", sub="s2")
    r = await move(client, same_person, rid, "approve", "looks fine")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes", r.text
    r = await move(client, same_person, rid, "reject", "changed my mind")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes", r.text
    got = await client.get(f"{API}/requests/{rid}", headers=same_person)
    assert got.json()["status"] == "submitted" and got.json()["decisions"] == []

    other = tokens.headers("comms_admin", sub="another-comms-admin")
    r = await move(client, other, rid, "approve", "agreed")
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    for item in DECOMMISSION_ITEMS:
        assert (await tick(client, same_person, rid, item)).status_code == 200
    r = await move(client, same_person, rid, "complete")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes", r.text
    assert (await move(client, other, rid, "complete")).status_code == 200


async def test_whoever_holds_the_old_subject_now_is_another_person(client, tokens, session):
    w = await make_world(session)
    lead = await make_person(session, w.force, subject="s1", name="Comms Lead")
    account = await make_account(session, w.force, owner=w.officer)
    rid = (
        await submit(
            client, tokens.headers("comms_admin", sub="s1"), account, "decommission",
            {"reason_code": "dormant"},
        )
    ).json()["id"]  # fmt: skip
    await _change_subject(client, tokens, lead.id, "s2")
    await make_person(session, w.force, subject="s1", name="New Starter")
    new_holder = tokens.headers("comms_admin", sub="s1")
    r = await move(client, new_holder, rid, "withdraw")
    assert r.status_code == 403 and r.json()["code"] == "not-requester", r.text
    r = await move(client, new_holder, rid, "approve", "agreed")
    assert r.status_code == 200, r.text


async def test_withdraw_and_mine_follow_the_person(client, tokens, session):
    w = await make_world(session)
    officer_sub = w.officer.subject
    account = await make_account(session, w.force, owner=w.officer)
    r = await submit(
        client, tokens.headers("staff", sub=officer_sub), account, "decommission",
        {"reason_code": "dormant"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    await _change_subject(client, tokens, w.officer.id, "officer-new-sign-in")
    renamed = tokens.headers("staff", sub="officer-new-sign-in")
    mine = await client.get(f"{API}/requests", params={"mine": "true"}, headers=renamed)
    assert [i["id"] for i in mine.json()["items"]] == [rid]
    r = await move(client, renamed, rid, "withdraw")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text


async def test_callers_without_a_person_record_are_compared_by_subject(client, tokens, session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    admin = tokens.headers("admin", force=None, sub="national-admin")
    rid = (await submit(client, admin, account, "decommission", {"reason_code": "dormant"})).json()[
        "id"
    ]
    r = await move(client, admin, rid, "approve")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes"
    # A person record holding that subject in the force does not make the national
    # caller someone else: the request recorded no requester person.
    await make_person(session, w.force, subject="national-admin")
    r = await move(
        client, tokens.headers("admin", force=None, sub="national-admin"), rid, "approve"
    )
    assert r.status_code == 403 and r.json()["code"] == "four-eyes"
    assert (await move(client, admin, rid, "withdraw")).status_code == 200


async def test_a_person_record_in_another_force_does_not_make_the_requester_someone_else(
    client, tokens, session
):
    """An admin token naming another force, where the same subject is linked to another
    person record, is still the requester of what that subject asked for."""
    w = await make_world(session)
    await make_person(session, w.force, subject="dual", name="Comms Lead")
    await make_person(session, w.other, subject="dual", name="Comms Lead (secondment)")
    account = await make_account(session, w.force, owner=w.officer)
    rid = (
        await submit(
            client, tokens.headers("comms_admin", sub="dual"), account, "decommission",
            {"reason_code": "dormant"},
        )
    ).json()["id"]  # fmt: skip
    elsewhere = tokens.headers("admin", "comms_admin", force="wmids", sub="dual")
    r = await move(client, elsewhere, rid, "approve")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes", r.text
