"""Requests over HTTP: who may do what, scoping, the state machine's refusals, lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from tests.factories import make_account
from tests.workflows.test_kinds import API, move, submit, tick
from tests.workflows.world import STAFF_SUB, events, make_world


@pytest.fixture
async def world(session):
    return await make_world(session)


async def _decommission(client, tokens, session, world, **kw):
    account = await make_account(session, world.force, owner=world.officer, **kw)
    r = await submit(
        client, tokens.headers("comms_admin"), account, "decommission", {"reason_code": "dormant"}
    )
    assert r.status_code == 201, r.text
    return account, r.json()["id"]


# --- submission: who may ---------------------------------------------------------------


async def test_submission_needs_a_token(client, world, session):
    account = await make_account(session, world.force)
    r = await client.post(
        f"{API}/requests",
        json={
            "kind": "decommission",
            "account_id": str(account.id),
            "details": {"reason_code": "dormant"},
        },
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ["psd", "auditor", "collector"])
async def test_roles_that_may_not_submit_get_403(client, tokens, world, session, role):
    account = await make_account(session, world.force)
    headers = tokens.headers(role, force=None if role == "auditor" else "staffs")
    r = await submit(client, headers, account, "decommission", {"reason_code": "dormant"})
    assert r.status_code == 403


async def test_staff_may_submit_only_for_accounts_they_operate(client, tokens, world, session):
    theirs = await make_account(session, world.force, editors=(world.officer,))
    official = await make_account(session, world.force, owner=world.colleague)
    unofficial = await make_account(
        session, world.force, owner=world.colleague, classification="unofficial"
    )
    staff = tokens.headers("staff", sub=STAFF_SUB)
    details = {"reason_code": "dormant"}
    assert (await submit(client, staff, theirs, "decommission", details)).status_code == 201
    r = await submit(client, staff, official, "decommission", details)
    assert r.status_code == 403 and r.json()["code"] == "not-operator"
    # An unofficial account they do not run is not even visible to them.
    r = await submit(client, staff, unofficial, "decommission", details)
    assert r.status_code == 404


async def test_staff_without_a_person_record_gets_409(client, tokens, world, session):
    account = await make_account(session, world.force)
    r = await submit(
        client,
        tokens.headers("staff", sub="nobody"),
        account,
        "decommission",
        {"reason_code": "dormant"},
    )
    assert r.status_code == 409 and r.json()["code"] == "no-person-record"


async def test_another_forces_account_is_not_found(client, tokens, world, session):
    account = await make_account(session, world.other)
    r = await submit(
        client, tokens.headers("comms_admin"), account, "decommission", {"reason_code": "dormant"}
    )
    assert r.status_code == 404 and r.json()["code"] == "account-not-found"
    r = await submit(
        client,
        tokens.headers("admin", force=None),
        account,
        "decommission",
        {"reason_code": "dormant"},
    )
    assert r.status_code == 201


async def test_submission_body_is_validated(client, tokens, world, session):
    account = await make_account(session, world.force)
    admin = tokens.headers("comms_admin")
    base = {
        "kind": "decommission",
        "account_id": str(account.id),
        "details": {"reason_code": "dormant"},
    }
    for bad in (
        {**base, "kind": "merge"},
        {**base, "extra": 1},
        {**base, "reason": "x" * 4001},
        {**base, "details": {"reason_code": "dormant", "surprise": True}},
        {**base, "details": {}},
        {**base, "account_id": "nope"},
    ):
        r = await client.post(f"{API}/requests", json=bad, headers=admin)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    r = await client.post(
        f"{API}/requests", json={**base, "kind": "registration", "details": {}}, headers=admin
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid-request"


@pytest.mark.parametrize(
    ("kind", "details", "account_kw"),
    [
        ("registration", {}, {"status": "active"}),
        ("transfer", {}, {"classification": "official"}),
        ("transfer", {}, {"classification": "unofficial", "status": "pending_approval"}),
        ("decommission", {"reason_code": "dormant"}, {"status": "pending_approval"}),
        ("decommission", {"reason_code": "dormant"}, {"status": "decommissioned"}),
        ("owner_change", {"new_owner_id": None}, {"status": "rejected"}),
    ],
)
async def test_a_kind_that_does_not_fit_the_account_is_refused(
    client, tokens, world, session, kind, details, account_kw
):
    account = await make_account(session, world.force, owner=world.officer, **account_kw)
    if "new_owner_id" in details:
        details = {"new_owner_id": str(world.colleague.id)}
    r = await submit(client, tokens.headers("comms_admin"), account, kind, details)
    assert r.status_code == 409 and r.json()["code"] == "invalid-request", r.text


async def test_only_one_open_request_per_account(client, tokens, world, session):
    account, rid = await _decommission(client, tokens, session, world)
    admin2 = tokens.headers("comms_admin", sub="ca-2")
    r = await submit(
        client, admin2, account, "owner_change", {"new_owner_id": str(world.colleague.id)}
    )
    assert r.status_code == 409 and r.json()["code"] == "request-already-open"
    assert (await move(client, admin2, rid, "approve")).status_code == 200
    r = await submit(client, admin2, account, "decommission", {"reason_code": "dormant"})
    assert r.status_code == 409  # still open while approved


async def test_idempotent_submission_replays_and_refuses_a_changed_body(
    client, tokens, world, session
):
    account = await make_account(session, world.force)
    admin = {**tokens.headers("comms_admin"), "Idempotency-Key": "req-1"}
    body = {
        "kind": "decommission",
        "account_id": str(account.id),
        "details": {"reason_code": "dormant"},
    }
    first = await client.post(f"{API}/requests", json=body, headers=admin)
    again = await client.post(f"{API}/requests", json=body, headers=admin)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    body["reason"] = "different"
    r = await client.post(f"{API}/requests", json=body, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "idempotency-key-reused"


# --- moves -----------------------------------------------------------------------------


async def test_requester_cannot_approve_reject_or_complete_their_own_request(
    client, tokens, world, session
):
    _, rid = await _decommission(client, tokens, session, world)
    requester = tokens.headers("comms_admin")
    r = await move(client, requester, rid, "approve")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes"
    r = await move(client, requester, rid, "reject", "no")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes"
    assert (
        await move(client, tokens.headers("admin", force=None), rid, "approve")
    ).status_code == 200
    for item in (
        "final_post_published",
        "content_archived",
        "credentials_revoked",
        "closed_on_platform",
    ):
        assert (await tick(client, requester, rid, item)).status_code == 200
    r = await move(client, requester, rid, "complete")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes"


async def test_admin_who_requested_cannot_approve_either(client, tokens, world, session):
    account = await make_account(session, world.force)
    admin = tokens.headers("admin", force=None)
    rid = (await submit(client, admin, account, "decommission", {"reason_code": "dormant"})).json()[
        "id"
    ]
    r = await move(client, admin, rid, "approve")
    assert r.status_code == 403 and r.json()["code"] == "four-eyes"
    assert (await move(client, tokens.headers("comms_admin"), rid, "approve")).status_code == 200


async def test_moves_outside_the_state_machine_are_invalid_transitions(
    client, tokens, world, session
):
    _, rid = await _decommission(client, tokens, session, world)
    decider = tokens.headers("comms_admin", sub="ca-2")
    for action in ("cancel", "complete"):
        r = await move(client, decider, rid, action)
        assert r.status_code == 409 and r.json()["code"] == "invalid-transition"
    assert (await move(client, decider, rid, "approve")).status_code == 200
    for action in ("approve", "reject"):
        r = await move(client, decider, rid, action, "again")
        assert r.status_code == 409 and r.json()["code"] == "invalid-transition"
    r = await move(client, tokens.headers("comms_admin"), rid, "withdraw")
    assert r.status_code == 409 and r.json()["code"] == "invalid-transition"
    assert (await move(client, decider, rid, "cancel")).status_code == 200
    for action in ("approve", "reject", "withdraw", "cancel", "complete"):
        who = tokens.headers("comms_admin") if action == "withdraw" else decider
        r = await move(client, who, rid, action, "late")
        assert r.status_code == 409 and r.json()["code"] == "invalid-transition", action


async def test_only_the_requester_may_withdraw(client, tokens, world, session):
    account = await make_account(session, world.force, owner=world.officer)
    staff = tokens.headers("staff", sub=STAFF_SUB)
    rid = (await submit(client, staff, account, "decommission", {"reason_code": "dormant"})).json()[
        "id"
    ]
    r = await move(client, tokens.headers("comms_admin"), rid, "withdraw")
    assert r.status_code == 403 and r.json()["code"] == "not-requester"
    r = await move(client, tokens.headers("psd"), rid, "withdraw")
    assert r.status_code == 403
    r = await move(client, staff, rid, "withdraw")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert len(await events(session, "request.withdrawn", rid)) == 1


async def test_staff_may_not_decide_requests(client, tokens, world, session):
    _, rid = await _decommission(client, tokens, session, world)
    staff = tokens.headers("staff", sub=STAFF_SUB)
    for action in ("approve", "reject", "cancel", "complete"):
        assert (await move(client, staff, rid, action, "x")).status_code == 403


@pytest.mark.parametrize("action", ["approve", "reject", "withdraw", "cancel", "complete"])
async def test_moves_answer_401_403_404(client, tokens, world, session, action):
    _, rid = await _decommission(client, tokens, session, world)
    assert (await client.post(f"{API}/requests/{rid}/{action}", json={})).status_code == 401
    assert (
        await move(client, tokens.headers("auditor", force=None), rid, action, "x")
    ).status_code == 403
    assert (await move(client, tokens.headers("collector"), rid, action, "x")).status_code == 403
    r = await move(client, tokens.headers("comms_admin", force="wmids"), rid, action, "x")
    assert r.status_code == 404 and r.json()["code"] == "request-not-found"
    r = await move(client, tokens.headers("comms_admin"), uuid.uuid4(), action, "x")
    assert r.status_code == 404


async def test_stale_if_match_on_a_move_is_412(client, tokens, world, session):
    _, rid = await _decommission(client, tokens, session, world)
    decider = tokens.headers("comms_admin", sub="ca-2")
    r = await client.get(f"{API}/requests/{rid}", headers=decider)
    tag = r.headers["etag"]
    await client.post(f"{API}/requests/{rid}/approve", headers={**decider, "If-Match": '"v99"'})
    r = await client.post(f"{API}/requests/{rid}/approve", headers={**decider, "If-Match": '"v99"'})
    assert r.status_code == 412
    r = await client.post(f"{API}/requests/{rid}/approve", headers={**decider, "If-Match": tag})
    assert r.status_code == 200 and r.headers["etag"] != tag


# --- checklist -------------------------------------------------------------------------


async def test_checklist_rules(client, tokens, world, session):
    _, rid = await _decommission(client, tokens, session, world)
    admin = tokens.headers("comms_admin")
    r = await tick(client, admin, rid, "final_post_published")
    assert r.status_code == 409 and r.json()["code"] == "request-not-approved"
    await move(client, tokens.headers("admin", force=None), rid, "approve")
    r = await tick(client, admin, rid, "owner_signed_guidelines")
    assert r.status_code == 404 and r.json()["code"] == "checklist-item-not-found"
    r = await tick(client, admin, rid, "x" * 65)
    assert r.status_code == 422
    r = await client.post(
        f"{API}/requests/{rid}/checklist/content_archived",
        headers=admin,
        json={"done": True, "note": "in the archive", "extra": 1},
    )
    assert r.status_code == 422
    r = await client.post(
        f"{API}/requests/{rid}/checklist/content_archived",
        headers=admin,
        json={"done": True, "note": "in the archive"},
    )
    assert r.status_code == 200
    item = next(i for i in r.json()["checklist"] if i["item"] == "content_archived")
    assert (
        item["done"]
        and item["note"] == "in the archive"
        and item["done_by"] == "comms_admin@staffs"
    )
    r = await tick(client, admin, rid, "content_archived", done=False)
    item = next(i for i in r.json()["checklist"] if i["item"] == "content_archived")
    assert not item["done"] and item["done_at"] is None
    assert (
        await tick(client, tokens.headers("staff", sub=STAFF_SUB), rid, "content_archived")
    ).status_code == 403
    assert (
        await tick(client, tokens.headers("comms_admin", force="wmids"), rid, "content_archived")
    ).status_code == 404
    r = await client.post(f"{API}/requests/{rid}/checklist/content_archived", json={"done": True})
    assert r.status_code == 401


# --- reading ---------------------------------------------------------------------------


async def test_get_request_has_etag_decisions_checklist_and_timeline(
    client, tokens, world, session
):
    _, rid = await _decommission(client, tokens, session, world)
    reader = tokens.headers("psd")
    r = await client.get(f"{API}/requests/{rid}", headers=reader)
    assert r.status_code == 200
    assert r.headers["etag"] == '"v1"'
    body = r.json()
    assert body["force"] == "staffs" and body["kind"] == "decommission"
    assert body["details"] == {"reason_code": "dormant"}
    assert body["decisions"] == [] and len(body["checklist"]) == 5
    assert [e["event"] for e in body["timeline"]] == ["submitted"]
    assert (await client.get(f"{API}/requests/{rid}")).status_code == 401
    assert (
        await client.get(f"{API}/requests/{rid}", headers=tokens.headers("collector"))
    ).status_code == 403
    assert (
        await client.get(f"{API}/requests/{rid}", headers=tokens.headers("auditor", force=None))
    ).status_code == 403
    r = await client.get(f"{API}/requests/{rid}", headers=tokens.headers("psd", force="wmids"))
    assert r.status_code == 404
    assert (await client.get(f"{API}/requests/not-a-uuid", headers=reader)).status_code == 422


async def test_staff_see_only_their_own_requests_and_their_accounts(client, tokens, world, session):
    mine = await make_account(session, world.force, owner=world.officer)
    operated = await make_account(session, world.force, editors=(world.officer,))
    other = await make_account(session, world.force, owner=world.colleague)
    staff = tokens.headers("staff", sub=STAFF_SUB)
    admin = tokens.headers("comms_admin")
    dormant = {"reason_code": "dormant"}
    own = (await submit(client, staff, mine, "decommission", dormant)).json()["id"]
    about = (await submit(client, admin, operated, "decommission", dormant)).json()["id"]
    hidden = (await submit(client, admin, other, "decommission", dormant)).json()["id"]
    r = await client.get(f"{API}/requests", headers=staff)
    assert {i["id"] for i in r.json()["items"]} == {own, about}
    r = await client.get(f"{API}/requests?mine=true", headers=staff)
    assert [i["id"] for i in r.json()["items"]] == [own]
    assert (await client.get(f"{API}/requests/{hidden}", headers=staff)).status_code == 404
    assert (await client.get(f"{API}/requests/{about}", headers=staff)).status_code == 200


async def test_list_filters_scope_and_keyset_pages(client, tokens, world, session):
    admin = tokens.headers("comms_admin")
    start = datetime(2027, 1, 1, tzinfo=UTC)
    ids = []
    for n in range(5):
        clock.freeze(start + timedelta(minutes=n))
        account = await make_account(session, world.force)
        ids.append(
            (
                await submit(client, admin, account, "decommission", {"reason_code": "dormant"})
            ).json()["id"]
        )
    elsewhere = await make_account(session, world.other)
    national = tokens.headers("admin", force=None)
    foreign = (
        await submit(client, national, elsewhere, "decommission", {"reason_code": "dormant"})
    ).json()["id"]
    await move(client, national, ids[0], "reject", "no")

    seen, cursor = [], None
    while True:
        url = f"{API}/requests?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=admin)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first; the other force's is not listed
    r = await client.get(f"{API}/requests?status=rejected", headers=admin)
    assert [i["id"] for i in r.json()["items"]] == [ids[0]]
    r = await client.get(f"{API}/requests?kind=transfer", headers=admin)
    assert r.json()["items"] == []
    r = await client.get(f"{API}/requests?force=wmids", headers=national)
    assert [i["id"] for i in r.json()["items"]] == [foreign]
    assert len((await client.get(f"{API}/requests", headers=national)).json()["items"]) == 6
    r = await client.get(f"{API}/requests?account_id={elsewhere.id}", headers=admin)
    assert r.json()["items"] == []
    r = await client.get(f"{API}/requests?force=wmids", headers=admin)
    assert r.status_code == 404
    for bad in ("status=open", "kind=x", "limit=201", "cursor=garbage", "mine=maybe"):
        assert (await client.get(f"{API}/requests?{bad}", headers=admin)).status_code == 422, bad
    assert (await client.get(f"{API}/requests")).status_code == 401
    assert (
        await client.get(f"{API}/requests", headers=tokens.headers("collector"))
    ).status_code == 403


async def test_every_move_is_audited_once(client, tokens, world, session):
    _, rid = await _decommission(client, tokens, session, world)
    await move(client, tokens.headers("comms_admin", sub="ca-2"), rid, "approve", "ok")
    assert len(await events(session, "request.submitted", rid)) == 1
    approved = await events(session, "request.approved", rid)
    assert len(approved) == 1
    assert approved[0].changes == {"status": ["submitted", "approved"], "comment": [None, "ok"]}
    r = await client.get(f"{API}/audit/verify", headers=tokens.headers("admin", force=None))
    assert r.json()["ok"] is True
