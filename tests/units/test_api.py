from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from app.models import AuditEvent, Unit
from tests.factories import make_account, make_force, make_person, make_unit

BASE = "/api/v1/units"


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


# --- authentication, roles, scoping ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", BASE),
        ("POST", BASE),
        ("GET", f"{BASE}/{uuid.uuid4()}"),
        ("PATCH", f"{BASE}/{uuid.uuid4()}"),
        ("DELETE", f"{BASE}/{uuid.uuid4()}"),
    ],
)
async def test_every_unit_route_needs_a_token(client, method, path):
    r = await client.request(method, path, json={})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["psd", "staff", "collector", "auditor"])
async def test_roles_other_than_comms_admin_and_admin_cannot_change_units(
    client, tokens, session, forces, role
):
    unit = await make_unit(session, forces[0])
    headers = tokens.headers(role, force=None if role == "auditor" else "staffs")
    r = await client.post(BASE, json={"name": "Dogs", "kind": "specialist"}, headers=headers)
    assert r.status_code == 403
    r = await client.patch(
        f"{BASE}/{unit.id}", json={"name": "X"}, headers={**headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 403
    r = await client.delete(f"{BASE}/{unit.id}", headers=headers)
    assert r.status_code == 403


async def test_a_token_with_no_known_role_cannot_read_units(client, tokens, forces):
    r = await client.get(BASE, headers=tokens.headers("visitor"))
    assert r.status_code == 403


@pytest.mark.parametrize("role", ["staff", "psd", "collector", "comms_admin"])
async def test_force_scoped_roles_read_only_their_own_force(client, tokens, session, forces, role):
    mine = await make_unit(session, forces[0], name="Mine")
    theirs = await make_unit(session, forces[1], name="Theirs")
    headers = tokens.headers(role)
    r = await client.get(BASE, headers=headers)
    assert [u["name"] for u in r.json()["items"]] == ["Mine"]
    assert r.json()["items"][0]["force"] == "staffs"
    assert (await client.get(f"{BASE}/{mine.id}", headers=headers)).status_code == 200
    r = await client.get(f"{BASE}/{theirs.id}", headers=headers)
    assert r.status_code == 404
    assert r.json()["code"] == "unit-not-found"
    r = await client.get(BASE, params={"force": "wmids"}, headers=headers)
    assert r.status_code == 404


async def test_another_forces_unit_cannot_be_edited_or_deleted(client, tokens, session, forces):
    theirs = await make_unit(session, forces[1])
    headers = tokens.headers("comms_admin")
    r = await client.patch(
        f"{BASE}/{theirs.id}", json={"name": "Mine now"}, headers={**headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 404
    assert (await client.delete(f"{BASE}/{theirs.id}", headers=headers)).status_code == 404


@pytest.mark.parametrize("role", ["auditor", "admin"])
async def test_national_roles_read_every_force_and_can_narrow_by_force(
    client, tokens, session, forces, role
):
    await make_unit(session, forces[0], name="A")
    await make_unit(session, forces[1], name="B")
    headers = tokens.headers(role, force=None)
    r = await client.get(BASE, headers=headers)
    assert sorted(u["force"] for u in r.json()["items"]) == ["staffs", "wmids"]
    r = await client.get(BASE, params={"force": "wmids"}, headers=headers)
    assert [(u["force"], u["name"]) for u in r.json()["items"]] == [("wmids", "B")]
    r = await client.get(BASE, params={"force": "nowhere"}, headers=headers)
    assert r.status_code == 404


# --- create ------------------------------------------------------------------------


async def test_comms_admin_creates_a_unit_in_own_force_with_an_audit_event(
    client, tokens, session, forces
):
    hq = await make_unit(session, forces[0], name="HQ", kind="hq")
    r = await client.post(
        BASE,
        json={"name": "  Dog Unit ", "kind": "specialist", "parent_id": str(hq.id)},
        headers=tokens.headers("comms_admin"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"{BASE}/{body['id']}"
    assert body["name"] == "Dog Unit"
    assert body["force"] == "staffs"
    assert body["parent_id"] == str(hq.id)
    assert body["version"] == 1
    assert body["created_at"] and body["updated_at"]
    [event] = await _events(session, "unit.created")
    assert event.entity_id == body["id"]
    assert event.force_id == forces[0].id
    assert event.changes == {
        "name": [None, "Dog Unit"],
        "kind": [None, "specialist"],
        "parent_id": [None, str(hq.id)],
    }


async def test_admin_names_the_force_of_a_new_unit(client, tokens, forces):
    admin = tokens.headers("admin", force=None)
    r = await client.post(BASE, json={"name": "HQ", "kind": "hq"}, headers=admin)
    assert r.status_code == 422
    r = await client.post(BASE, json={"name": "HQ", "kind": "hq", "force": "wmids"}, headers=admin)
    assert r.status_code == 201
    assert r.json()["force"] == "wmids"


async def test_comms_admin_cannot_create_a_unit_in_another_force(client, tokens, forces):
    r = await client.post(
        BASE,
        json={"name": "HQ", "kind": "hq", "force": "wmids"},
        headers=tokens.headers("comms_admin"),
    )
    assert r.status_code == 422


async def test_unit_names_are_unique_within_a_force_only(client, tokens, session, forces):
    await make_unit(session, forces[0], name="HQ", kind="hq")
    await make_unit(session, forces[1], name="Dogs", kind="hq")
    headers = tokens.headers("comms_admin")
    r = await client.post(BASE, json={"name": "HQ", "kind": "hq"}, headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-unit"
    r = await client.post(BASE, json={"name": "Dogs", "kind": "specialist"}, headers=headers)
    assert r.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Dogs\u0000", "kind": "specialist"},
        {"name": "x" * 201, "kind": "specialist"},
        {"name": "", "kind": "specialist"},
        {"name": "Dogs", "kind": "kennel"},
        {"name": "Dogs"},
        {"name": "Dogs", "kind": "specialist", "colour": "blue"},
        {"name": "Dogs", "kind": "specialist", "parent_id": "not-a-uuid"},
    ],
)
async def test_invalid_unit_bodies_are_refused(client, tokens, session, forces, body):
    r = await client.post(BASE, json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert await _events(session) == []


async def test_a_200_character_name_is_accepted(client, tokens, forces):
    r = await client.post(
        BASE, json={"name": "x" * 200, "kind": "other"}, headers=tokens.headers("comms_admin")
    )
    assert r.status_code == 201


async def test_a_parent_must_be_a_unit_of_the_same_force(client, tokens, session, forces):
    theirs = await make_unit(session, forces[1])
    headers = tokens.headers("comms_admin")
    for parent in (theirs.id, uuid.uuid4()):
        r = await client.post(
            BASE, json={"name": "Team", "kind": "other", "parent_id": str(parent)}, headers=headers
        )
        assert r.status_code == 422
        assert r.json()["code"] == "unknown-unit"
        assert r.json()["errors"][0]["loc"] == ["body", "parent_id"]


async def test_a_replayed_create_returns_the_first_answer(client, tokens, session, forces):
    headers = {**tokens.headers("comms_admin"), "Idempotency-Key": "unit-1"}
    first = await client.post(BASE, json={"name": "HQ", "kind": "hq"}, headers=headers)
    again = await client.post(BASE, json={"name": "HQ", "kind": "hq"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other = await client.post(BASE, json={"name": "HQ2", "kind": "hq"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency-key-reused"
    await session.commit()
    assert await session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 1
    await session.commit()


# --- read and edit -----------------------------------------------------------------


async def test_get_returns_an_etag_that_patch_requires(client, tokens, session, forces):
    unit = await make_unit(session, forces[0], name="Old")
    headers = tokens.headers("comms_admin")
    r = await client.get(f"{BASE}/{unit.id}", headers=headers)
    assert r.headers["etag"] == '"v1"'
    r = await client.patch(f"{BASE}/{unit.id}", json={"name": "New"}, headers=headers)
    assert r.status_code == 428
    assert r.json()["code"] == "precondition-required"
    r = await client.patch(
        f"{BASE}/{unit.id}", json={"name": "New"}, headers={**headers, "If-Match": '"v9"'}
    )
    assert r.status_code == 412
    r = await client.patch(
        f"{BASE}/{unit.id}",
        json={"name": "New", "kind": "borough"},
        headers={**headers, "If-Match": '"v1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"v2"'
    assert (r.json()["name"], r.json()["kind"], r.json()["version"]) == ("New", "borough", 2)
    [event] = await _events(session, "unit.updated")
    assert event.changes == {"name": ["Old", "New"], "kind": ["neighbourhood_team", "borough"]}


async def test_two_edits_from_one_read_one_wins_and_the_other_is_stale(
    client, tokens, session, forces
):
    unit = await make_unit(session, forces[0])
    headers = {**tokens.headers("comms_admin"), "If-Match": '"v1"'}
    first = await client.patch(f"{BASE}/{unit.id}", json={"name": "A"}, headers=headers)
    second = await client.patch(f"{BASE}/{unit.id}", json={"name": "B"}, headers=headers)
    assert (first.status_code, second.status_code) == (200, 412)
    assert second.json()["code"] == "precondition-failed"


async def test_two_concurrent_edits_from_one_read_give_one_200_and_one_412(
    client, tokens, session, forces
):
    unit = await make_unit(session, forces[0])
    headers = {**tokens.headers("comms_admin"), "If-Match": '"v1"'}
    results = await asyncio.gather(
        client.patch(f"{BASE}/{unit.id}", json={"name": "A"}, headers=headers),
        client.patch(f"{BASE}/{unit.id}", json={"name": "B"}, headers=headers),
    )
    assert sorted(r.status_code for r in results) == [200, 412]
    assert len(await _events(session, "unit.updated")) == 1


async def test_patch_refuses_null_name_and_unknown_fields(client, tokens, session, forces):
    unit = await make_unit(session, forces[0])
    headers = {**tokens.headers("comms_admin"), "If-Match": '"v1"'}
    for body in ({"name": None}, {"kind": None}, {"force": "wmids"}, {"name": "a\x00b"}):
        r = await client.patch(f"{BASE}/{unit.id}", json=body, headers=headers)
        assert r.status_code == 422, body


async def test_renaming_to_a_taken_name_conflicts(client, tokens, session, forces):
    await make_unit(session, forces[0], name="Taken")
    unit = await make_unit(session, forces[0], name="Free")
    r = await client.patch(
        f"{BASE}/{unit.id}",
        json={"name": "Taken"},
        headers={**tokens.headers("comms_admin"), "If-Match": '"v1"'},
    )
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-unit"


async def test_a_unit_cannot_move_under_itself_or_its_descendants(client, tokens, session, forces):
    top = await make_unit(session, forces[0], name="Top")
    middle = await make_unit(session, forces[0], name="Middle", parent_id=top.id)
    bottom = await make_unit(session, forces[0], name="Bottom", parent_id=middle.id)
    headers = {**tokens.headers("comms_admin"), "If-Match": '"v1"'}
    for parent in (top, middle, bottom):
        r = await client.patch(
            f"{BASE}/{top.id}", json={"parent_id": str(parent.id)}, headers=headers
        )
        assert r.status_code == 422
        assert r.json()["code"] == "unit-cycle"
    r = await client.patch(f"{BASE}/{bottom.id}", json={"parent_id": str(top.id)}, headers=headers)
    assert r.status_code == 200
    r = await client.patch(f"{BASE}/{bottom.id}", json={"parent_id": None}, headers={
        **headers, "If-Match": '"v2"'})  # fmt: skip
    assert r.status_code == 200
    assert r.json()["parent_id"] is None


async def test_a_unit_cannot_move_under_another_forces_unit(client, tokens, session, forces):
    unit = await make_unit(session, forces[0])
    theirs = await make_unit(session, forces[1])
    r = await client.patch(
        f"{BASE}/{unit.id}",
        json={"parent_id": str(theirs.id)},
        headers={**tokens.headers("comms_admin"), "If-Match": '"v1"'},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "unknown-unit"


# --- delete ------------------------------------------------------------------------


async def test_an_unused_unit_is_deleted_with_an_audit_event(client, tokens, session, forces):
    unit = await make_unit(session, forces[0], name="Gone", kind="other")
    headers = tokens.headers("comms_admin")
    r = await client.delete(f"{BASE}/{unit.id}", headers=headers)
    assert r.status_code == 204
    assert (await client.get(f"{BASE}/{unit.id}", headers=headers)).status_code == 404
    [event] = await _events(session, "unit.deleted")
    assert event.entity_id == str(unit.id)
    assert event.changes == {"name": ["Gone", None], "kind": ["other", None]}


async def test_delete_with_a_stale_if_match_is_refused(client, tokens, session, forces):
    unit = await make_unit(session, forces[0])
    r = await client.delete(
        f"{BASE}/{unit.id}", headers={**tokens.headers("comms_admin"), "If-Match": '"v7"'}
    )
    assert r.status_code == 412


@pytest.mark.parametrize("user", ["person", "account", "child"])
async def test_a_unit_still_referenced_cannot_be_deleted(client, tokens, session, forces, user):
    force = forces[0]
    unit = await make_unit(session, force)
    if user == "person":
        await make_person(session, force, unit_id=unit.id)
    elif user == "account":
        await make_account(session, force, unit_id=unit.id)
    else:
        await make_unit(session, force, parent_id=unit.id)
    r = await client.delete(f"{BASE}/{unit.id}", headers=tokens.headers("comms_admin"))
    assert r.status_code == 409
    assert r.json()["code"] == "unit-in-use"
    assert await _events(session, "unit.deleted") == []


# --- lists -------------------------------------------------------------------------


async def test_three_pages_of_two_are_complete_and_stable(client, tokens, session, forces):
    for name in ("e", "c", "a", "d", "b"):
        await make_unit(session, forces[0], name=name)
    await make_unit(session, forces[1], name="other force")
    headers = tokens.headers("comms_admin")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(BASE, params=params, headers=headers)
        assert r.status_code == 200
        pages += 1
        seen += [u["name"] for u in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == ["a", "b", "c", "d", "e"]
    # The same walk again gives the same pages.
    r = await client.get(BASE, params={"limit": 2}, headers=headers)
    assert [u["name"] for u in r.json()["items"]] == ["a", "b"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"cursor": "garbage!"}])
async def test_bad_list_parameters_are_refused(client, tokens, forces, params):
    r = await client.get(BASE, params=params, headers=tokens.headers("staff"))
    assert r.status_code == 422


async def test_a_cursor_with_a_bad_force_key_is_refused(client, tokens, forces):
    from app.pagination import encode_cursor

    r = await client.get(
        BASE, params={"cursor": encode_cursor(["nope", "x"])}, headers=tokens.headers("staff")
    )
    assert r.status_code == 422


async def test_a_name_taken_by_a_racing_create_is_still_a_duplicate_unit(
    client, tokens, session, forces, monkeypatch
):
    from app.units import repository

    await make_unit(session, forces[0], name="HQ")

    async def not_yet_taken(*_args, **_kwargs):
        return False  # the other request committed after this one checked

    monkeypatch.setattr(repository, "name_taken", not_yet_taken)
    r = await client.post(
        BASE, json={"name": "HQ", "kind": "hq"}, headers=tokens.headers("comms_admin")
    )
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-unit"
    assert await _events(session) == []
