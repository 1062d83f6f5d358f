"""Tokens that mix a national role with a force-scoped one are refused (SPEC §3).

The attack: `["auditor", "comms_admin"]` (or `["auditor", "psd"]`) with `force: met` used
to make the whole caller national, so the force role acted in every force. Each attack
below is performed over HTTP against another force's objects and must get 403
`mixed-roles` with nothing written. admin may carry any role beside it and stays admin;
force roles combine with each other inside their force.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_account, make_force, make_person, make_request
from tests.security.test_abuse import counts

V = "/api/v1"
MIXED = [("auditor", "comms_admin"), ("auditor", "psd")]


@pytest.fixture
async def world(session: Any) -> dict[str, Any]:
    staffs = await make_force(session, "staffs")
    await make_force(session, "met")
    owner = await make_person(session, staffs, subject="owner@staffs")
    await make_person(session, await make_force(session, "wmids"))
    account = await make_account(session, staffs, owner=owner, display_name="Staffs Police")
    request = await make_request(session, account, requested_by="owner@staffs")
    return {"account": account, "request": request, "owner": owner}


def _assert_mixed_refused(r: Any, roles: tuple[str, ...]) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "mixed-roles"
    for role in roles:
        assert role in body["detail"]
    assert "separate sign-in" in body["detail"]


async def _attacks(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    account, request, owner = world["account"].id, world["request"].id, world["owner"].id
    return [
        ("PATCH", f"{V}/accounts/{account}",
         {"json": {"display_name": "Hijacked"}, "headers": {"If-Match": "*"}}),
        ("POST", f"{V}/requests/{request}/approve", {"json": {"comment": "ok"}}),
        ("POST", f"{V}/requests/{request}/reject", {"json": {"comment": "no"}}),
        ("POST", f"{V}/people",
         {"json": {"staff_id": "X999", "name": "Planted", "force": "staffs"}}),
        ("PATCH", f"{V}/people/{owner}",
         {"json": {"subject": "auditor-comms_admin@met"}, "headers": {"If-Match": "*"}}),
        ("PATCH", f"{V}/forces/staffs",
         {"json": {"dormancy_days": 7}, "headers": {"If-Match": "*"}}),
        ("POST", f"{V}/accounts/{account}/holds",
         {"json": {"case_reference": "PSD/1", "reason": "Fishing."}}),
        ("GET", f"{V}/accounts/{account}/custodians", {}),
        ("GET", f"{V}/accounts/{account}/history", {}),
        ("GET", f"{V}/people/{owner}/accounts", {}),
        ("GET", f"{V}/audit", {"params": {"force": "staffs"}}),
        ("GET", f"{V}/reports/compliance", {"params": {"force": "staffs"}}),
    ]  # fmt: skip


@pytest.mark.parametrize("roles", MIXED, ids="+".join)
async def test_a_mixed_token_cannot_act_in_another_force(client, db, tokens, world, roles):
    auth = tokens.headers(*roles, force="met")
    admin = tokens.headers("admin", force=None)
    before = await counts(db)
    for method, url, kwargs in await _attacks(world):
        headers = {**kwargs.pop("headers", {}), **auth}
        r = await client.request(method, url, headers=headers, **kwargs)
        _assert_mixed_refused(r, roles)
    assert await counts(db) == before  # no row and no audit event written
    account = (await client.get(f"{V}/accounts/{world['account'].id}", headers=admin)).json()
    assert account["display_name"] == "Staffs Police" and account["legal_hold"] is False
    request = (await client.get(f"{V}/requests/{world['request'].id}", headers=admin)).json()
    assert request["status"] == "submitted"
    force = (await client.get(f"{V}/forces/staffs", headers=admin)).json()
    assert force["dormancy_days"] == 90


@pytest.mark.parametrize("roles", MIXED, ids="+".join)
async def test_a_mixed_token_is_refused_in_its_own_force_too(client, session, tokens, roles):
    met = await make_force(session, "met")
    await make_person(session, met, subject=f"{'-'.join(roles)}@met")
    for url in (f"{V}/me", f"{V}/accounts", f"{V}/people"):
        _assert_mixed_refused(
            await client.get(url, headers=tokens.headers(*roles, force="met")), roles
        )


async def test_a_mixed_token_is_refused_whatever_force_it_names(client, session, tokens):
    await make_force(session, "staffs")
    for force in ("staffs", "nowhere"):  # before the force is even looked up
        r = await client.get(f"{V}/me", headers=tokens.headers("auditor", "staff", force=force))
        _assert_mixed_refused(r, ("auditor", "staff"))


async def test_admin_with_a_force_role_still_acts_as_admin_everywhere(client, tokens, world):
    auth = tokens.headers("admin", "comms_admin", force="met")
    url = f"{V}/accounts/{world['account'].id}"
    r = await client.patch(
        url, json={"display_name": "Renamed by admin"}, headers={**auth, "If-Match": "*"}
    )
    assert r.status_code == 200, r.text
    assert (await client.get(url, headers=auth)).json()["display_name"] == "Renamed by admin"
    r = await client.post(
        f"{V}/requests/{world['request'].id}/approve", json={"comment": "ok"}, headers=auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    r = await client.get(f"{V}/audit", params={"force": "staffs"}, headers=auth)
    assert r.status_code == 200


async def test_force_roles_combine_inside_their_force_only(client, tokens, world):
    """comms_admin + psd: each role's powers in the token's force, none in another."""
    account = world["account"].id
    own = tokens.headers("comms_admin", "psd", force="staffs")
    r = await client.post(
        f"{V}/accounts/{account}/holds",
        json={"case_reference": "PSD/7", "reason": "Preserve."},
        headers=own,
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"{V}/accounts/{account}", json={"display_name": "Edited"}, headers={**own, "If-Match": "*"}
    )
    assert r.status_code == 200, r.text
    other = tokens.headers("comms_admin", "psd", force="wmids")
    assert (await client.get(f"{V}/accounts/{account}/holds", headers=other)).status_code == 404
    r = await client.patch(
        f"{V}/accounts/{account}", json={"display_name": "X"}, headers={**other, "If-Match": "*"}
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    "roles", [("comms_admin",), ("staff",), ("admin", "comms_admin")], ids="+".join
)
async def test_a_force_role_without_a_force_claim_is_401(client, session, tokens, roles):
    await make_force(session, "staffs")
    r = await client.get(f"{V}/accounts", headers=tokens.headers(*roles, force=None))
    assert r.status_code == 401
    assert r.json()["detail"] == "missing force claim: force"
