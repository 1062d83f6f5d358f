"""Each request kind end to end through HTTP, from submission to completion."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from app import clock
from app.models import AccountObjective, Custodianship, Objective
from tests.factories import make_account, make_objective, make_unit, sign
from tests.workflows.world import STAFF_SUB, events, make_world, reload

API = "/api/v1"


def heads(tokens, *roles, **kw):
    return tokens.headers(*roles, **kw)


async def submit(client, headers, account, kind, details=None, reason="needed"):
    body = {"kind": kind, "account_id": str(account.id), "reason": reason, "details": details or {}}
    return await client.post(f"{API}/requests", json=body, headers=headers)


async def move(client, headers, request_id, action, comment=None):
    body = {} if comment is None else {"comment": comment}
    return await client.post(f"{API}/requests/{request_id}/{action}", json=body, headers=headers)


async def tick(client, headers, request_id, item, done=True):
    return await client.post(
        f"{API}/requests/{request_id}/checklist/{item}", json={"done": done}, headers=headers
    )


# --- registration -----------------------------------------------------------------------


async def test_registration_approval_activates_the_account_and_completes(client, tokens, session):
    w = await make_world(session)
    account = await make_account(
        session, w.force, owner=w.officer, classification="unofficial", status="pending_approval"
    )
    staff = heads(tokens, "staff", sub=STAFF_SUB, name="Officer One")
    r = await submit(client, staff, account, "registration")
    assert r.status_code == 201, r.text
    req = r.json()
    assert r.headers["location"] == f"/api/v1/requests/{req['id']}"
    assert req["status"] == "submitted" and req["checklist"] == []
    assert req["requested_by"] == STAFF_SUB and req["requested_by_person_id"] == str(w.officer.id)

    clock.freeze(datetime(2027, 3, 1, 9, tzinfo=UTC))
    r = await move(client, heads(tokens, "comms_admin"), req["id"], "approve", "fine")
    assert r.status_code == 200, r.text
    body = r.json()
    # Nothing is left to do after approval, so the request completes at once.
    assert body["status"] == "completed"
    assert [d["action"] for d in body["decisions"]] == ["approve", "complete"]
    assert [e["event"] for e in body["timeline"]] == ["submitted", "approve", "complete"]
    account = await reload(session, account)
    assert account.status == "active"
    assert account.review_due_on == date(2028, 2, 29)
    assert len(await events(session, "account.registered", account.id)) == 1


async def test_registration_rejection_needs_a_comment_and_rejects_the_account(
    client, tokens, session
):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer, status="pending_approval")
    r = await submit(client, heads(tokens, "staff", sub=STAFF_SUB), account, "registration")
    rid = r.json()["id"]
    admin = heads(tokens, "comms_admin")
    r = await move(client, admin, rid, "reject")
    assert r.status_code == 422 and r.json()["code"] == "comment-required"
    r = await client.post(f"{API}/requests/{rid}/reject", headers=admin)
    assert r.status_code == 422
    r = await move(client, admin, rid, "reject", "   ")
    assert r.status_code == 422
    r = await move(client, admin, rid, "reject", "Not a police account")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["decisions"][0]["comment"] == "Not a police account"
    assert (await reload(session, account)).status == "rejected"


async def test_withdrawn_registration_leaves_the_account_pending_and_a_new_one_can_open(
    client, tokens, session
):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer, status="pending_approval")
    staff = heads(tokens, "staff", sub=STAFF_SUB)
    rid = (await submit(client, staff, account, "registration")).json()["id"]
    r = await move(client, staff, rid, "withdraw", "wrong account")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert (await reload(session, account)).status == "pending_approval"
    assert (await submit(client, staff, account, "registration")).status_code == 201


# --- transfer ---------------------------------------------------------------------------


async def test_transfer_from_submission_to_completion_brings_the_account_into_oversight(
    client, tokens, session
):
    w = await make_world(session)
    clock.freeze(datetime(2027, 1, 10, 12, tzinfo=UTC))
    unit = await make_unit(session, w.force)
    old_obj = await make_objective(session, w.force, code="OLD")
    await make_objective(session, w.force, code="ENGAGE")
    since = datetime(2026, 6, 1, tzinfo=UTC)
    account = await make_account(
        session,
        w.force,
        owner=w.officer,
        classification="unofficial",
        objectives=(old_obj,),
        since=since,
    )
    staff = heads(tokens, "staff", sub=STAFF_SUB)
    details = {"owner_id": str(w.unsigned.id), "unit_id": str(unit.id), "objectives": ["ENGAGE"]}
    r = await submit(client, staff, account, "transfer", details)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    items = r.json()["checklist"]
    assert [i["item"] for i in items] == [
        "owner_signed_guidelines",
        "force_admin_access_granted",
        "credentials_in_force_vault",
        "profile_branding_updated",
    ]
    assert items[0]["system"] is True and not any(i["done"] for i in items)

    admin = heads(tokens, "comms_admin")
    r = await move(client, admin, rid, "approve")
    assert r.status_code == 409 and r.json()["code"] == "guidelines-not-signed"
    assert (await client.get(f"{API}/requests/{rid}", headers=admin)).json()["status"] == (
        "submitted"
    )
    await sign(session, w.unsigned, w.guideline)
    r = await move(client, admin, rid, "approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    signed = r.json()["checklist"][0]
    assert signed["done"] is True and signed["done_by"] == "system"
    assert (await reload(session, account)).classification == "unofficial"

    r = await tick(client, admin, rid, "owner_signed_guidelines", False)
    assert r.status_code == 409 and r.json()["code"] == "system-checklist-item"
    assert (await tick(client, admin, rid, "force_admin_access_granted")).status_code == 200
    r = await move(client, admin, rid, "complete")
    assert r.status_code == 409 and r.json()["code"] == "checklist-incomplete"
    assert r.json()["missing"] == ["credentials_in_force_vault", "profile_branding_updated"]
    assert (await tick(client, admin, rid, "credentials_in_force_vault")).status_code == 200
    assert (await tick(client, admin, rid, "profile_branding_updated")).status_code == 200

    clock.freeze(datetime(2027, 1, 20, 12, tzinfo=UTC))
    r = await move(client, admin, rid, "complete", "welcome aboard")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    account = await reload(session, account)
    assert (account.classification, account.status) == ("official", "active")
    assert account.owner_id == w.unsigned.id and account.unit_id == unit.id
    assert account.review_due_on == date(2028, 1, 20)
    codes = await session.scalars(
        sa.select(Objective.code)
        .join(AccountObjective, AccountObjective.objective_id == Objective.id)
        .where(AccountObjective.account_id == account.id)
    )
    assert list(codes) == ["ENGAGE"]
    # The unofficial past stays: the officer's owner interval is closed, not rewritten.
    intervals = (
        await session.scalars(
            sa.select(Custodianship)
            .where(Custodianship.account_id == account.id)
            .order_by(Custodianship.valid_from)
        )
    ).all()
    assert [(c.person_id, c.valid_from, c.valid_to) for c in intervals] == [
        (w.officer.id, since, datetime(2027, 1, 20, 12, tzinfo=UTC)),
        (w.unsigned.id, datetime(2027, 1, 20, 12, tzinfo=UTC), None),
    ]
    transferred = await events(session, "account.transferred", account.id)
    assert len(transferred) == 1
    assert transferred[0].changes["classification"] == ["unofficial", "official"]


async def test_transfer_defaults_to_the_accounts_current_owner(client, tokens, session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer, classification="unofficial")
    rid = (await submit(client, heads(tokens, "comms_admin"), account, "transfer")).json()["id"]
    admin = heads(tokens, "admin", force=None)
    assert (await move(client, admin, rid, "approve")).status_code == 200
    for item in (
        "force_admin_access_granted",
        "credentials_in_force_vault",
        "profile_branding_updated",
    ):
        assert (await tick(client, admin, rid, item)).status_code == 200
    assert (await move(client, admin, rid, "complete")).status_code == 200
    account = await reload(session, account)
    assert (account.owner_id, account.classification) == (w.officer.id, "official")


async def test_transfer_refuses_unknown_people_units_and_objectives(client, tokens, session):
    w = await make_world(session)
    other_unit = await make_unit(session, w.other)
    account = await make_account(session, w.force, owner=w.officer, classification="unofficial")
    staff = heads(tokens, "staff", sub=STAFF_SUB)
    for details in (
        {"owner_id": str(w.stranger.id)},
        {"owner_id": str(w.leaver.id)},
        {"unit_id": str(other_unit.id)},
        {"objectives": ["NOPE"]},
        {"owner": str(w.colleague.id)},
    ):
        r = await submit(client, staff, account, "transfer", details)
        assert r.status_code == 422, (details, r.text)
    assert (await client.get(f"{API}/requests", headers=staff)).json()["items"] == []


# --- decommission -----------------------------------------------------------------------


async def test_decommission_with_holds_checklist_and_the_handle_freed(client, tokens, session):
    w = await make_world(session)
    corporate = await make_account(session, w.force, owner=w.colleague, classification="corporate")
    account = await make_account(
        session, w.force, owner=w.officer, editors=(w.colleague,), handle="staffsdogs"
    )
    staff = heads(tokens, "staff", sub=STAFF_SUB)
    r = await submit(client, staff, account, "decommission", {"reason_code": "retired"})
    assert r.status_code == 422
    details = {"reason_code": "centralised", "redirect_account_id": str(corporate.id)}
    r = await submit(client, staff, account, "decommission", details)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert {i["item"]: i["required"] for i in r.json()["checklist"]}["followers_redirected"]

    psd = heads(tokens, "psd")
    hold = await client.post(
        f"{API}/accounts/{account.id}/holds",
        headers=psd,
        json={"case_reference": "PSD/1", "reason": "complaint"},
    )
    assert hold.status_code == 201
    admin = heads(tokens, "comms_admin")
    r = await move(client, admin, rid, "approve")
    assert r.status_code == 409 and r.json()["code"] == "legal-hold"
    await client.delete(f"{API}/accounts/{account.id}/holds/{hold.json()['id']}", headers=psd)
    r = await move(client, admin, rid, "approve")
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert (await reload(session, account)).status == "decommissioning"

    for item in (
        "final_post_published",
        "followers_redirected",
        "content_archived",
        "credentials_revoked",
        "closed_on_platform",
    ):
        assert (await tick(client, admin, rid, item)).status_code == 200
    hold = await client.post(
        f"{API}/accounts/{account.id}/holds",
        headers=psd,
        json={"case_reference": "PSD/2", "reason": "new complaint"},
    )
    r = await move(client, admin, rid, "complete")
    assert r.status_code == 409 and r.json()["code"] == "legal-hold"
    await client.delete(f"{API}/accounts/{account.id}/holds/{hold.json()['id']}", headers=psd)

    clock.freeze(datetime(2027, 5, 1, tzinfo=UTC))
    r = await move(client, admin, rid, "complete")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    account = await reload(session, account)
    assert account.status == "decommissioned"
    open_ = await session.scalar(
        sa.select(sa.func.count()).where(
            Custodianship.account_id == account.id, Custodianship.valid_to.is_(None)
        )
    )
    assert open_ == 0
    # The handle is free for a new registration.
    again = await make_account(session, w.force, handle="staffsdogs")
    assert again.id != account.id


async def test_followers_redirected_is_optional_without_a_redirect(client, tokens, session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    rid = (
        await submit(
            client,
            heads(tokens, "comms_admin"),
            account,
            "decommission",
            {"reason_code": "dormant"},
        )
    ).json()["id"]
    admin = heads(tokens, "admin", force=None)
    assert (await move(client, admin, rid, "approve")).status_code == 200
    for item in (
        "final_post_published",
        "content_archived",
        "credentials_revoked",
        "closed_on_platform",
    ):
        assert (await tick(client, admin, rid, item)).status_code == 200
    r = await move(client, admin, rid, "complete")
    assert r.status_code == 200, r.text


async def test_cancelling_an_approved_decommission_restores_the_previous_status(
    client, tokens, session
):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer, status="suspended")
    rid = (
        await submit(
            client,
            heads(tokens, "staff", sub=STAFF_SUB),
            account,
            "decommission",
            {"reason_code": "dormant"},
        )
    ).json()["id"]
    admin = heads(tokens, "comms_admin")
    assert (await move(client, admin, rid, "approve")).status_code == 200
    assert (await reload(session, account)).status == "decommissioning"
    r = await move(client, admin, rid, "cancel", "keep it after all")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert (await reload(session, account)).status == "suspended"
    assert len(await events(session, "account.decommission_cancelled", account.id)) == 1


async def test_decommission_redirect_must_be_a_live_account_of_the_same_force(
    client, tokens, session
):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    elsewhere = await make_account(session, w.other)
    closed = await make_account(session, w.force, status="decommissioned")
    admin = heads(tokens, "comms_admin")
    for target in (elsewhere.id, closed.id, account.id):
        details = {"reason_code": "centralised", "redirect_account_id": str(target)}
        r = await submit(client, admin, account, "decommission", details)
        assert r.status_code == 422, r.text


# --- owner_change ---------------------------------------------------------------------


async def test_owner_change_is_applied_at_approval(client, tokens, session):
    w = await make_world(session)
    clock.freeze(datetime(2027, 2, 1, tzinfo=UTC))
    account = await make_account(session, w.force, owner=w.officer)
    staff = heads(tokens, "staff", sub=STAFF_SUB)
    r = await submit(client, staff, account, "owner_change", {"new_owner_id": str(w.unsigned.id)})
    rid = r.json()["id"]
    admin = heads(tokens, "comms_admin")
    r = await move(client, admin, rid, "approve")
    assert r.status_code == 409 and r.json()["code"] == "guidelines-not-signed"
    await sign(session, w.unsigned, w.guideline)
    r = await move(client, admin, rid, "approve")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    account = await reload(session, account)
    assert account.owner_id == w.unsigned.id
    owners = (
        await session.scalars(
            sa.select(Custodianship.person_id).where(
                Custodianship.account_id == account.id, Custodianship.valid_to.is_(None)
            )
        )
    ).all()
    assert owners == [w.unsigned.id]
    assert len(await events(session, "account.owner_changed", account.id)) == 1


async def test_owner_change_to_an_unknown_or_foreign_person_leaves_nothing_open(
    client, tokens, session
):
    import uuid

    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    staff = heads(tokens, "staff", sub=STAFF_SUB)
    for details in (
        {"new_owner_id": str(uuid.uuid4())},
        {"new_owner_id": str(w.stranger.id)},
        {"new_owner_id": str(w.leaver.id)},
        {"new_owner_id": "not-a-uuid"},
        {},
    ):
        r = await submit(client, staff, account, "owner_change", details)
        assert r.status_code == 422, (details, r.text)
    # Naming the current owner conflicts with the account as it is, not with the input.
    r = await submit(client, staff, account, "owner_change", {"new_owner_id": str(w.officer.id)})
    assert r.status_code == 409 and r.json()["code"] == "already-owner"
    r = await submit(client, staff, account, "owner_change", {"new_owner_id": str(w.colleague.id)})
    assert r.status_code == 201
