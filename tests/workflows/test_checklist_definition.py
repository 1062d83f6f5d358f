"""Completion checks the kind's checklist, not the stored rows.

The attack: the demo's approved decommission had no checklist rows, and `complete` closed it
with five required items never ticked. A request recorded without its rows (old data, a
loader that wrote rows by hand) must still need every required item of its kind.
"""

from __future__ import annotations

import uuid

from app.models import Request
from tests.factories import make_account, make_force, make_guideline, make_person, sign

API = "/api/v1"
DECOMMISSION_REQUIRED = [
    "closed_on_platform",
    "content_archived",
    "credentials_revoked",
    "final_post_published",
]


async def _rowless(session, account, kind: str, status: str, details: dict) -> Request:
    request = Request(
        id=uuid.uuid4(),
        force_id=account.force_id,
        kind=kind,
        account_id=account.id,
        reason="Recorded without its checklist rows.",
        details=details,
        status=status,
        requested_by="someone.else@staffs",
    )
    session.add(request)
    await session.commit()
    return request


async def test_a_request_without_checklist_rows_cannot_complete_unticked(client, session, tokens):
    staffs = await make_force(session, "staffs")
    account = await make_account(session, staffs, status="decommissioning")
    request = await _rowless(
        session, account, "decommission", "approved", {"reason_code": "centralised"}
    )
    headers = tokens.headers("comms_admin", force="staffs")

    shown = await client.get(f"{API}/requests/{request.id}", headers=headers)
    assert shown.status_code == 200
    listed = {i["item"]: (i["required"], i["done"]) for i in shown.json()["checklist"]}
    assert listed == {
        **{name: (True, False) for name in DECOMMISSION_REQUIRED},
        "followers_redirected": (False, False),
    }

    r = await client.post(f"{API}/requests/{request.id}/complete", json={}, headers=headers)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "checklist-incomplete"
    assert r.json()["missing"] == DECOMMISSION_REQUIRED
    got = await client.get(f"{API}/accounts/{account.id}", headers=headers)
    assert got.json()["status"] == "decommissioning"

    for name in DECOMMISSION_REQUIRED[:-1]:
        r = await client.post(
            f"{API}/requests/{request.id}/checklist/{name}", json={"done": True}, headers=headers
        )
        assert r.status_code == 200, r.text
    r = await client.post(f"{API}/requests/{request.id}/complete", json={}, headers=headers)
    assert r.status_code == 409
    assert r.json()["missing"] == ["final_post_published"]

    r = await client.post(
        f"{API}/requests/{request.id}/checklist/final_post_published",
        json={"done": True},
        headers=headers,
    )
    assert r.status_code == 200
    r = await client.post(f"{API}/requests/{request.id}/complete", json={}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    got = await client.get(f"{API}/accounts/{account.id}", headers=headers)
    assert got.json()["status"] == "decommissioned"


async def test_a_redirecting_decommission_needs_the_redirect_ticked_too(client, session, tokens):
    staffs = await make_force(session, "staffs")
    account = await make_account(session, staffs, status="decommissioning")
    target = await make_account(session, staffs)
    request = await _rowless(
        session,
        account,
        "decommission",
        "approved",
        {"reason_code": "centralised", "redirect_account_id": str(target.id)},
    )
    headers = tokens.headers("comms_admin", force="staffs")
    r = await client.post(f"{API}/requests/{request.id}/complete", json={}, headers=headers)
    assert r.status_code == 409
    assert r.json()["missing"] == sorted([*DECOMMISSION_REQUIRED, "followers_redirected"])


async def test_a_transfer_without_checklist_rows_is_approved_with_the_system_item_ticked(
    client, session, tokens
):
    staffs = await make_force(session, "staffs")
    owner = await make_person(session, staffs)
    guideline = await make_guideline(session, staffs)
    await sign(session, owner, guideline)
    account = await make_account(session, staffs, classification="unofficial", owner=owner)
    request = await _rowless(session, account, "transfer", "submitted", {})
    headers = tokens.headers("comms_admin", force="staffs")
    r = await client.post(f"{API}/requests/{request.id}/approve", json={}, headers=headers)
    assert r.status_code == 200, r.text
    items = {i["item"]: i["done"] for i in r.json()["checklist"]}
    assert items == {
        "owner_signed_guidelines": True,
        "force_admin_access_granted": False,
        "credentials_in_force_vault": False,
        "profile_branding_updated": False,
    }
    r = await client.post(f"{API}/requests/{request.id}/complete", json={}, headers=headers)
    assert r.status_code == 409
    assert r.json()["missing"] == [
        "credentials_in_force_vault",
        "force_admin_access_granted",
        "profile_branding_updated",
    ]
