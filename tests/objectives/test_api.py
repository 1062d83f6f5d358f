from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from app.models import AuditEvent, Objective
from tests.factories import make_force, make_objective

BASE = "/api/v1/objectives"


async def _events(session, action: str | None = None) -> list[AuditEvent]:
    """What the API committed, read in a fresh short transaction (no lock held after)."""
    await session.commit()
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    try:
        return list((await session.scalars(query)).all())
    finally:
        await session.commit()


@pytest.fixture
async def forces(session):
    return await make_force(session, "staffs"), await make_force(session, "wmids")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", BASE),
        ("POST", BASE),
        ("GET", f"{BASE}/{uuid.uuid4()}"),
        ("PATCH", f"{BASE}/{uuid.uuid4()}"),
    ],
)
async def test_every_objective_route_needs_a_token(client, method, path):
    r = await client.request(method, path, json={})
    assert r.status_code == 401


@pytest.mark.parametrize("role", ["psd", "staff", "collector", "auditor"])
async def test_only_comms_admin_and_admin_change_objectives(client, tokens, session, forces, role):
    objective = await make_objective(session, forces[0])
    headers = tokens.headers(role, force=None if role == "auditor" else "staffs")
    r = await client.post(BASE, json={"code": "ENGAGE", "title": "Engage"}, headers=headers)
    assert r.status_code == 403
    r = await client.patch(
        f"{BASE}/{objective.id}", json={"active": False}, headers={**headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 403


async def test_a_token_with_no_known_role_cannot_read_objectives(client, tokens, forces):
    assert (await client.get(BASE, headers=tokens.headers("visitor"))).status_code == 403


@pytest.mark.parametrize("role", ["staff", "psd", "collector", "comms_admin"])
async def test_force_scoped_roles_see_only_their_own_objectives(
    client, tokens, session, forces, role
):
    mine = await make_objective(session, forces[0], code="MINE")
    theirs = await make_objective(session, forces[1], code="THEIRS")
    headers = tokens.headers(role)
    r = await client.get(BASE, headers=headers)
    assert [(o["code"], o["force"]) for o in r.json()["items"]] == [("MINE", "staffs")]
    assert (await client.get(f"{BASE}/{mine.id}", headers=headers)).status_code == 200
    r = await client.get(f"{BASE}/{theirs.id}", headers=headers)
    assert r.status_code == 404
    assert r.json()["code"] == "objective-not-found"
    assert (await client.get(BASE, params={"force": "wmids"}, headers=headers)).status_code == 404


async def test_another_forces_objective_cannot_be_edited(client, tokens, session, forces):
    theirs = await make_objective(session, forces[1])
    r = await client.patch(
        f"{BASE}/{theirs.id}",
        json={"active": False},
        headers={**tokens.headers("comms_admin"), "If-Match": '"v1"'},
    )
    assert r.status_code == 404


async def test_national_roles_read_every_forces_objectives(client, tokens, session, forces):
    await make_objective(session, forces[0], code="A")
    await make_objective(session, forces[1], code="B")
    headers = tokens.headers("auditor", force=None)
    r = await client.get(BASE, headers=headers)
    assert sorted(o["code"] for o in r.json()["items"]) == ["A", "B"]
    r = await client.get(BASE, params={"force": "wmids"}, headers=headers)
    assert [o["code"] for o in r.json()["items"]] == ["B"]


async def test_comms_admin_creates_an_objective_with_an_audit_event(
    client, tokens, session, forces
):
    r = await client.post(
        BASE,
        json={"code": "ENGAGE", "title": "Engage with communities"},
        headers=tokens.headers("comms_admin"),
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert r.headers["location"] == f"{BASE}/{out['id']}"
    assert (out["force"], out["code"], out["active"], out["version"]) == (
        "staffs", "ENGAGE", True, 1,
    )  # fmt: skip
    assert out["created_at"] and out["updated_at"]
    [event] = await _events(session, "objective.created")
    assert event.changes == {
        "code": [None, "ENGAGE"],
        "title": [None, "Engage with communities"],
        "active": [None, True],
    }


async def test_admin_names_the_force_of_a_new_objective(client, tokens, forces):
    admin = tokens.headers("admin", force=None)
    body = {"code": "ENGAGE", "title": "Engage"}
    assert (await client.post(BASE, json=body, headers=admin)).status_code == 422
    r = await client.post(BASE, json={**body, "force": "wmids"}, headers=admin)
    assert r.status_code == 201
    assert r.json()["force"] == "wmids"


async def test_objective_codes_are_unique_within_a_force(client, tokens, session, forces):
    await make_objective(session, forces[0], code="ENGAGE")
    await make_objective(session, forces[1], code="OTHER")
    headers = tokens.headers("comms_admin")
    r = await client.post(BASE, json={"code": "ENGAGE", "title": "Again"}, headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-objective"
    r = await client.post(BASE, json={"code": "OTHER", "title": "Fine"}, headers=headers)
    assert r.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"code": "ENGAGE", "title": "x" * 201},
        {"code": "ENGAGE", "title": "Engage\u0000"},
        {"code": "has space", "title": "Engage"},
        {"code": "", "title": "Engage"},
        {"code": "C" * 65, "title": "Engage"},
        {"title": "Engage"},
        {"code": "ENGAGE", "title": "Engage", "active": "maybe"},
        {"code": "ENGAGE", "title": "Engage", "owner": "me"},
    ],
)
async def test_invalid_objectives_are_refused(client, tokens, session, forces, body):
    r = await client.post(BASE, json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 422
    assert await _events(session) == []


async def test_an_objective_is_edited_only_with_a_current_if_match(client, tokens, session, forces):
    objective = await make_objective(session, forces[0], code="OLD", title="Old")
    headers = tokens.headers("comms_admin")
    r = await client.get(f"{BASE}/{objective.id}", headers=headers)
    assert r.headers["etag"] == '"v1"'
    body = {"active": False, "title": "New"}
    assert (
        await client.patch(f"{BASE}/{objective.id}", json=body, headers=headers)
    ).status_code == 428
    r = await client.patch(
        f"{BASE}/{objective.id}", json=body, headers={**headers, "If-Match": '"v3"'}
    )
    assert r.status_code == 412
    r = await client.patch(
        f"{BASE}/{objective.id}", json=body, headers={**headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 200
    assert (r.json()["active"], r.json()["title"], r.json()["version"]) == (False, "New", 2)
    assert r.headers["etag"] == '"v2"'
    [event] = await _events(session, "objective.updated")
    assert event.changes == {"title": ["Old", "New"], "active": [True, False]}


async def test_two_edits_with_one_if_match_one_wins(client, tokens, session, forces):
    objective = await make_objective(session, forces[0])
    headers = {**tokens.headers("comms_admin"), "If-Match": '"v1"'}
    results = await asyncio.gather(
        client.patch(f"{BASE}/{objective.id}", json={"title": "A"}, headers=headers),
        client.patch(f"{BASE}/{objective.id}", json={"title": "B"}, headers=headers),
    )
    assert sorted(r.status_code for r in results) == [200, 412]
    again = await client.patch(f"{BASE}/{objective.id}", json={"title": "C"}, headers=headers)
    assert again.status_code == 412


@pytest.mark.parametrize("body", [{"title": None}, {"active": None}, {"code": "bad code"}])
async def test_an_objective_patch_refuses_nulls_and_bad_codes(
    client, tokens, session, forces, body
):
    objective = await make_objective(session, forces[0])
    r = await client.patch(
        f"{BASE}/{objective.id}",
        json=body,
        headers={**tokens.headers("comms_admin"), "If-Match": '"v1"'},
    )
    assert r.status_code == 422


async def test_recoding_to_a_taken_code_conflicts(client, tokens, session, forces):
    await make_objective(session, forces[0], code="TAKEN")
    objective = await make_objective(session, forces[0], code="FREE")
    r = await client.patch(
        f"{BASE}/{objective.id}",
        json={"code": "TAKEN"},
        headers={**tokens.headers("comms_admin"), "If-Match": '"v1"'},
    )
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-objective"


async def test_objectives_filter_by_active(client, tokens, session, forces):
    await make_objective(session, forces[0], code="ON")
    await make_objective(session, forces[0], code="OFF", active=False)
    headers = tokens.headers("staff")

    async def codes(**params):
        r = await client.get(BASE, params=params, headers=headers)
        return sorted(o["code"] for o in r.json()["items"])

    assert await codes() == ["OFF", "ON"]
    assert await codes(active="true") == ["ON"]
    assert await codes(active="false") == ["OFF"]


async def test_objective_pages_of_two_are_complete_and_stable(client, tokens, session, forces):
    for code in ("o5", "o3", "o1", "o4", "o2"):
        await make_objective(session, forces[0], code=code)
    headers = tokens.headers("comms_admin")
    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(BASE, params=params, headers=headers)
        pages.append([o["code"] for o in r.json()["items"]])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [["o1", "o2"], ["o3", "o4"], ["o5"]]


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"active": "maybe"}, {"cursor": "bogus"}]
)
async def test_bad_objective_list_parameters_are_refused(client, tokens, forces, params):
    r = await client.get(BASE, params=params, headers=tokens.headers("staff"))
    assert r.status_code == 422


async def test_a_replayed_objective_create_makes_one_objective(client, tokens, session, forces):
    headers = {**tokens.headers("comms_admin"), "Idempotency-Key": "obj-1"}
    body = {"code": "ENGAGE", "title": "Engage"}
    first = await client.post(BASE, json=body, headers=headers)
    again = await client.post(BASE, json=body, headers=headers)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    await session.commit()
    assert await session.scalar(sa.select(sa.func.count()).select_from(Objective)) == 1
    await session.commit()


async def test_a_code_taken_by_a_racing_create_is_still_a_duplicate_objective(
    client, tokens, session, forces, monkeypatch
):
    from app.objectives import repository

    await make_objective(session, forces[0], code="ENGAGE")

    async def not_yet_taken(*_args, **_kwargs):
        return False  # the other request committed after this one checked

    monkeypatch.setattr(repository, "code_taken", not_yet_taken)
    r = await client.post(
        BASE, json={"code": "ENGAGE", "title": "Again"}, headers=tokens.headers("comms_admin")
    )
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-objective"
