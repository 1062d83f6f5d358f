"""The outbox: each change writes its domain event in its own transaction, with ids and
statuses only — no case details, no names, no operator of an anonymous account."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import OutboxEvent
from tests.factories import make_account
from tests.workflows.test_kinds import API, move, submit, tick
from tests.workflows.world import STAFF_SUB, make_world

DECOMMISSION_ITEMS = (
    "final_post_published",
    "content_archived",
    "credentials_revoked",
    "closed_on_platform",
)


async def outbox(session, type=None):
    query = sa.select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.type)
    if type is not None:
        query = query.where(OutboxEvent.type == type)
    found = list((await session.scalars(query)).all())
    await session.commit()
    return found


async def test_a_decommission_emits_each_move_and_the_closed_account(client, tokens, session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    staff = tokens.headers("staff", sub=STAFF_SUB)
    r = await submit(client, staff, account, "decommission", {"reason_code": "dormant"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    admin = tokens.headers("comms_admin")
    assert (await move(client, admin, rid, "approve")).status_code == 200
    for item in DECOMMISSION_ITEMS:
        assert (await tick(client, admin, rid, item)).status_code == 200
    # Ticking a ticked item again changes nothing and emits nothing.
    assert (await tick(client, admin, rid, DECOMMISSION_ITEMS[0])).status_code == 200
    assert (await move(client, admin, rid, "complete")).status_code == 200

    events = await outbox(session)
    types = [e.type for e in events]
    assert types.count("request.checklist_ticked") == len(DECOMMISSION_ITEMS)
    assert types == [
        "request.submitted",
        "request.approved",
        *["request.checklist_ticked"] * len(DECOMMISSION_ITEMS),
        "request.completed",
        "account.decommissioned",
    ]
    assert len({e.id for e in events}) == len(events)
    for e in events:
        assert e.force_code == "staffs"
        assert e.subject["account_id"] == str(account.id)
    submitted = next(e for e in events if e.type == "request.submitted")
    assert submitted.subject == {"request_id": rid, "account_id": str(account.id)}
    assert submitted.data == {"kind": "decommission", "status": "submitted"}
    ticked = [e.data["item"] for e in events if e.type == "request.checklist_ticked"]
    assert sorted(ticked) == sorted(DECOMMISSION_ITEMS)
    # The requester's reason never leaves in an event.
    assert "needed" not in str([(e.subject, e.data) for e in events])


async def test_a_refused_move_leaves_no_event(client, tokens, session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    admin = tokens.headers("comms_admin")
    rid = (await submit(client, admin, account, "decommission", {"reason_code": "dormant"})).json()[
        "id"
    ]
    # Four eyes: the requester may not approve; the refusal rolls back, event included.
    assert (await move(client, admin, rid, "approve")).status_code == 403
    assert [e.type for e in await outbox(session)] == ["request.submitted"]


async def test_holds_emit_without_case_details(client, tokens, session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    psd = tokens.headers("psd")
    hold = {"case_reference": "PSD/2027/0042", "reason": "Complaint about a post"}
    r = await client.post(f"{API}/accounts/{account.id}/holds", json=hold, headers=psd)
    assert r.status_code == 201
    hold_id = r.json()["id"]
    r = await client.delete(f"{API}/accounts/{account.id}/holds/{hold_id}", headers=psd)
    assert r.status_code == 200
    events = await outbox(session)
    assert [e.type for e in events] == ["hold.placed", "hold.released"]
    for e in events:
        assert e.subject == {"account_id": str(account.id), "hold_id": hold_id}
        assert e.data == {}
        assert "PSD/2027" not in str(e.data) and "Complaint" not in str(e.data)


async def test_owner_changes_name_no_operator_of_an_anonymous_account(client, tokens, session):
    w = await make_world(session)
    shown = await make_account(session, w.force, owner=w.officer)
    hidden = await make_account(session, w.force, owner=w.officer, is_anonymous=True)
    admin = tokens.headers("comms_admin")
    for account in (shown, hidden):
        body = {"new_owner_id": str(w.colleague.id)}
        r = await submit(client, admin, account, "owner_change", body)
        assert r.status_code == 201, r.text
        r = await move(client, tokens.headers("comms_admin", sub="other@staffs"), r.json()["id"],
                       "approve")  # fmt: skip
        assert r.status_code == 200, r.text
    changed = {e.subject["account_id"]: e for e in await outbox(session, "account.owner_changed")}
    assert changed[str(shown.id)].data == {
        "owner_id": str(w.colleague.id),
        "previous_owner_id": str(w.officer.id),
    }
    assert changed[str(hidden.id)].data == {}
    for e in await outbox(session):
        assert "Officer One" not in str(e.data) and "Colleague" not in str(e.data)


async def test_a_leaver_and_a_direct_registration_emit(client, tokens, session):
    w = await make_world(session)
    admin = tokens.headers("comms_admin")
    r = await client.post(
        f"{API}/people/{w.colleague.id}/leave", json={"left_on": "2026-01-01"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{API}/accounts",
        json={"url": "https://x.com/StaffsPolNew", "classification": "official"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    left = await outbox(session, "person.left")
    assert [(e.subject, e.data) for e in left] == [
        ({"person_id": str(w.colleague.id)}, {"left_on": "2026-01-01"})
    ]
    registered = await outbox(session, "account.registered")
    assert len(registered) == 1 and registered[0].subject == {"account_id": r.json()["id"]}
    assert registered[0].data == {
        "platform": "x", "classification": "official", "status": "active", "via": "direct"
    }  # fmt: skip
