"""The demo world is made through the domain services, so it is what the API would make.

The attack this guards against: the demo's approved decommission was written by hand with
no checklist rows, and `complete` closed it with five required items never ticked. Built
through submit/approve, every request has its kind's checklist, and completing the demo's
approved decommission needs its ticks.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.demo import DEMO_CALLERS, build_demo
from app.models import ChecklistItem, Request
from app.models.enums import ACCOUNT_STATUSES, FLAGS
from app.workflows.checklists import CHECKLISTS

API = "/api/v1"


@pytest.fixture
async def demo(session: Any) -> None:
    await build_demo(session)
    await session.commit()


def _as(tokens: Any, sub: str) -> dict[str, str]:
    spec = next(c for c in DEMO_CALLERS if c["sub"] == sub)
    return tokens.headers(*spec["roles"], force=spec.get("force"), sub=sub, name=spec["name"])


async def _all(client: Any, url: str, headers: dict[str, str], **params: str) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        query = {"limit": "200", **params, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=query, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json().get("next_cursor")
        if not cursor:
            return items


async def test_every_demo_request_has_its_kinds_checklist(client, session, tokens, demo):
    admin = _as(tokens, "admin@registry")
    requests = await _all(client, f"{API}/requests", admin)
    assert {r["status"] for r in requests} >= {"submitted", "approved", "completed", "rejected"}
    approved = [r for r in requests if r["status"] == "approved"]
    assert approved
    for summary in approved:
        r = await client.get(f"{API}/requests/{summary['id']}", headers=admin)
        request = r.json()
        definition = CHECKLISTS[request["kind"]]
        shown = {i["item"]: i["required"] for i in request["checklist"]}
        assert shown == {i.name: i.required(request["details"]) for i in definition}
        assert [d["action"] for d in request["decisions"]] == ["approve"]
        assert request["decisions"][0]["actor"] != request["requested_by"]
    # Stored, not only shown: each request has a row for every item of its kind.
    counts = (
        sa.select(Request.kind, sa.func.count(ChecklistItem.item))
        .outerjoin(ChecklistItem, ChecklistItem.request_id == Request.id)
        .group_by(Request.id, Request.kind)
    )
    stored = (await session.execute(counts)).all()
    await session.commit()
    assert len(stored) == len(requests)
    assert all(count == len(CHECKLISTS[kind]) for kind, count in stored), stored


async def test_completing_the_demo_decommission_needs_every_required_tick(client, tokens, demo):
    admin = _as(tokens, "admin@registry")
    requester, decider = _as(tokens, "comms.lead@staffs"), _as(tokens, "comms.deputy@staffs")
    found = await _all(client, f"{API}/requests", admin, status="approved", kind="decommission")
    assert len(found) == 1
    rid = found[0]["id"]
    account_id = found[0]["account_id"]
    request = (await client.get(f"{API}/requests/{rid}", headers=admin)).json()
    required = sorted(i["item"] for i in request["checklist"] if i["required"])
    assert required == [
        "closed_on_platform", "content_archived", "credentials_revoked", "final_post_published",
    ]  # fmt: skip
    assert not any(i["done"] for i in request["checklist"])

    r = await client.post(f"{API}/requests/{rid}/complete", json={}, headers=decider)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "checklist-incomplete" and r.json()["missing"] == required
    account = (await client.get(f"{API}/accounts/{account_id}", headers=admin)).json()
    assert account["status"] == "decommissioning"

    for item in required:
        r = await client.post(
            f"{API}/requests/{rid}/checklist/{item}", json={"done": True}, headers=requester
        )
        assert r.status_code == 200, r.text
    r = await client.post(f"{API}/requests/{rid}/complete", json={}, headers=requester)
    assert r.status_code == 403 and r.json()["code"] == "four-eyes"
    r = await client.post(f"{API}/requests/{rid}/complete", json={}, headers=decider)
    assert r.status_code == 200, r.text
    account = (await client.get(f"{API}/accounts/{account_id}", headers=admin)).json()
    assert account["status"] == "decommissioned"


async def test_the_demo_shows_every_flag_and_status_and_its_callers_work(client, tokens, demo):
    admin = _as(tokens, "admin@registry")
    accounts = await _all(client, f"{API}/accounts", admin)
    assert {a["status"] for a in accounts} == set(ACCOUNT_STATUSES)
    for flag in FLAGS:
        flagged = await _all(client, f"{API}/accounts", admin, flag=flag)
        assert flagged, f"no demo account is flagged {flag}"
    assert any(a["legal_hold"] for a in accounts)
    assert any(a["is_anonymous"] for a in accounts)
    verify = (await client.get(f"{API}/audit/verify", headers=admin)).json()
    # Every demo event checked, or committed and waiting for the sequencer.
    assert verify["ok"] is True and verify["events_checked"] + verify["pending"] > 0
    for caller in DEMO_CALLERS:
        me = await client.get(f"{API}/me", headers=_as(tokens, caller["sub"]))
        assert me.status_code == 200, (caller["label"], me.text)
        linked = caller.get("force") is not None and "collector" not in caller["roles"]
        assert (me.json()["person"] is not None) is linked, caller["label"]
