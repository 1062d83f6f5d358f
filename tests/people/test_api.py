from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import clock
from app.models import AuditEvent, Person
from tests.factories import make_force, make_person, make_unit

BASE = "/api/v1/people"


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


async def _count_people(session) -> int:
    await session.commit()
    try:
        return await session.scalar(sa.select(sa.func.count()).select_from(Person))
    finally:
        await session.commit()


@pytest.fixture
async def forces(session):
    return await make_force(session, "staffs"), await make_force(session, "wmids")


def _new(**kw):
    return {"staff_id": "PC1234", "name": "Alex Smith", "email": "alex@staffs.police.uk", **kw}


# --- authentication, roles, scoping ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", BASE),
        ("POST", BASE),
        ("GET", f"{BASE}/{uuid.uuid4()}"),
        ("PATCH", f"{BASE}/{uuid.uuid4()}"),
        ("POST", f"{BASE}/{uuid.uuid4()}/leave"),
    ],
)
async def test_every_people_route_needs_a_token(client, method, path):
    r = await client.request(method, path, json={})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["psd", "staff", "collector", "auditor"])
async def test_only_comms_admin_and_admin_change_people(client, tokens, session, forces, role):
    person = await make_person(session, forces[0])
    headers = tokens.headers(role, force=None if role == "auditor" else "staffs")
    assert (await client.post(BASE, json=_new(), headers=headers)).status_code == 403
    r = await client.patch(
        f"{BASE}/{person.id}", json={"name": "X"}, headers={**headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 403
    r = await client.post(
        f"{BASE}/{person.id}/leave", json={"left_on": "2026-01-01"}, headers=headers
    )
    assert r.status_code == 403
    assert await _events(session) == []


async def test_a_token_with_no_known_role_cannot_read_people(client, tokens, forces):
    assert (await client.get(BASE, headers=tokens.headers("visitor"))).status_code == 403


@pytest.mark.parametrize("role", ["psd", "comms_admin"])
async def test_force_scoped_roles_see_only_their_own_forces_people(
    client, tokens, session, forces, role
):
    mine = await make_person(session, forces[0], name="Mine")
    theirs = await make_person(session, forces[1], name="Theirs")
    headers = tokens.headers(role)
    r = await client.get(BASE, headers=headers)
    assert [(p["name"], p["force"]) for p in r.json()["items"]] == [("Mine", "staffs")]
    assert (await client.get(f"{BASE}/{mine.id}", headers=headers)).status_code == 200
    r = await client.get(f"{BASE}/{theirs.id}", headers=headers)
    assert r.status_code == 404
    assert r.json()["code"] == "person-not-found"


@pytest.mark.parametrize("role", ["staff", "collector"])
async def test_staff_and_collectors_read_only_their_own_person_record(
    client, tokens, session, forces, role
):
    me = await make_person(session, forces[0], name="Me", subject="me-sub")
    colleague = await make_person(session, forces[0], name="Colleague")
    headers = tokens.headers(role, sub="me-sub")
    r = await client.get(BASE, headers=headers)
    assert [p["id"] for p in r.json()["items"]] == [str(me.id)]
    assert (await client.get(f"{BASE}/{me.id}", headers=headers)).status_code == 200
    r = await client.get(f"{BASE}/{colleague.id}", headers=headers)
    assert r.status_code == 404
    assert "Colleague" not in r.text


async def test_another_forces_person_cannot_be_edited_or_marked_as_left(
    client, tokens, session, forces
):
    theirs = await make_person(session, forces[1])
    headers = tokens.headers("comms_admin")
    r = await client.patch(
        f"{BASE}/{theirs.id}", json={"name": "X"}, headers={**headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 404
    r = await client.post(
        f"{BASE}/{theirs.id}/leave", json={"left_on": "2026-01-01"}, headers=headers
    )
    assert r.status_code == 404
    assert await _events(session) == []


async def test_admin_reads_people_of_every_force(client, tokens, session, forces):
    theirs = await make_person(session, forces[1])
    await make_person(session, forces[0])
    headers = tokens.headers("admin", force=None)
    r = await client.get(BASE, headers=headers)
    assert sorted(p["force"] for p in r.json()["items"]) == ["staffs", "wmids"]
    r = await client.get(BASE, params={"force": "wmids"}, headers=headers)
    assert [p["id"] for p in r.json()["items"]] == [str(theirs.id)]
    assert (await client.get(f"{BASE}/{theirs.id}", headers=headers)).status_code == 200


async def test_auditors_read_no_person_record(client, tokens, session, forces):
    person = await make_person(session, forces[0])
    headers = tokens.headers("auditor", force=None)
    assert (await client.get(BASE, headers=headers)).status_code == 403
    assert (await client.get(f"{BASE}/{person.id}", headers=headers)).status_code == 403


# --- create ------------------------------------------------------------------------


async def test_comms_admin_registers_a_person_with_an_audit_event(client, tokens, session, forces):
    unit = await make_unit(session, forces[0])
    body = _new(subject="alex-sub", job_title="PC", unit_id=str(unit.id))
    r = await client.post(BASE, json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert r.headers["location"] == f"{BASE}/{out['id']}"
    assert out["force"] == "staffs"
    assert (out["status"], out["left_on"], out["version"]) == ("active", None, 1)
    assert out["unit_id"] == str(unit.id)
    assert out["created_at"] and out["updated_at"]
    [event] = await _events(session, "person.created")
    assert event.entity_id == out["id"]
    assert event.changes["staff_id"] == [None, "PC1234"]
    assert event.changes["status"] == [None, "active"]
    assert event.changes["unit_id"] == [None, str(unit.id)]


async def test_admin_names_the_force_of_a_new_person(client, tokens, forces):
    admin = tokens.headers("admin", force=None)
    assert (await client.post(BASE, json=_new(), headers=admin)).status_code == 422
    r = await client.post(BASE, json=_new(force="wmids"), headers=admin)
    assert r.status_code == 201
    assert r.json()["force"] == "wmids"


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Alex\u0000Smith"},
        {"name": "x" * 201},
        {"name": ""},
        {"staff_id": "S" * 65},
        {"staff_id": "PC\u00001"},
        {"email": "not-an-email"},
        {"email": "two@@at.uk"},
        {"email": "no-domain@localhost"},
        {"email": "spaces in@staffs.police.uk"},
        {"email": "a" * 64 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 58 + ".police.uk"},
        {"email": "a" * 65 + "@staffs.police.uk"},
        {"subject": "has space"},
        {"job_title": "x" * 201},
        {"unit_id": "nope"},
        {"status": "left"},
        {"left_on": "2026-01-01"},
        {"nickname": "Al"},
    ],
)
async def test_invalid_people_are_refused(client, tokens, session, forces, changes):
    r = await client.post(BASE, json=_new(**changes), headers=tokens.headers("comms_admin"))
    assert r.status_code == 422, changes
    assert r.headers["content-type"] == "application/problem+json"
    assert await _count_people(session) == 0


async def test_an_email_of_254_characters_is_accepted(client, tokens, forces):
    email = "a" * 64 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 57 + ".police.uk"
    assert len(email) == 254
    r = await client.post(BASE, json=_new(email=email), headers=tokens.headers("comms_admin"))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("where", ["unknown", "other-force"])
async def test_a_person_must_belong_to_a_unit_of_the_same_force(
    client, tokens, session, forces, where
):
    unit_id = uuid.uuid4() if where == "unknown" else (await make_unit(session, forces[1])).id
    r = await client.post(
        BASE, json=_new(unit_id=str(unit_id)), headers=tokens.headers("comms_admin")
    )
    assert r.status_code == 422
    assert r.json()["code"] == "unknown-unit"
    assert r.json()["errors"][0]["loc"] == ["body", "unit_id"]


async def test_staff_ids_are_unique_within_a_force(client, tokens, session, forces):
    await make_person(session, forces[0], staff_id="PC1234")
    await make_person(session, forces[1], staff_id="PC9999")
    headers = tokens.headers("comms_admin")
    r = await client.post(BASE, json=_new(), headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-person"
    r = await client.post(BASE, json=_new(staff_id="PC9999"), headers=headers)
    assert r.status_code == 201


async def test_a_sign_in_subject_links_to_one_person_per_force(client, tokens, session, forces):
    await make_person(session, forces[0], subject="sub-1")
    r = await client.post(BASE, json=_new(subject="sub-1"), headers=tokens.headers("comms_admin"))
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate-person"
    assert r.json()["field"] == "subject"


async def test_a_create_refused_after_its_unit_was_checked_leaves_no_trace(
    client, tokens, session, forces
):
    unit = await make_unit(session, forces[0])
    await make_person(session, forces[0], staff_id="PC1234")
    before = await _count_people(session)
    r = await client.post(
        BASE,
        json=_new(unit_id=str(unit.id), name="Second Alex"),
        headers={**tokens.headers("comms_admin"), "Idempotency-Key": "k1"},
    )
    assert r.status_code == 409
    assert await _count_people(session) == before
    assert await _events(session) == []
    # Nor was the Idempotency-Key spent: a corrected retry with the same key succeeds.
    r = await client.post(
        BASE,
        json=_new(unit_id=str(unit.id), staff_id="PC5678"),
        headers={**tokens.headers("comms_admin"), "Idempotency-Key": "k1"},
    )
    assert r.status_code == 201


# --- read and edit -----------------------------------------------------------------


async def test_a_person_is_edited_only_with_a_current_if_match(client, tokens, session, forces):
    person = await make_person(session, forces[0], name="Old Name", job_title="PC")
    unit = await make_unit(session, forces[0])
    headers = tokens.headers("comms_admin")
    r = await client.get(f"{BASE}/{person.id}", headers=headers)
    assert r.headers["etag"] == '"v1"'
    body = {"name": "New Name", "job_title": None, "unit_id": str(unit.id)}
    r = await client.patch(f"{BASE}/{person.id}", json=body, headers=headers)
    assert r.status_code == 428
    r = await client.patch(
        f"{BASE}/{person.id}", json=body, headers={**headers, "If-Match": '"v2"'}
    )
    assert r.status_code == 412
    r = await client.patch(
        f"{BASE}/{person.id}", json=body, headers={**headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"v2"'
    out = r.json()
    assert (out["name"], out["job_title"], out["unit_id"]) == ("New Name", None, str(unit.id))
    [event] = await _events(session, "person.updated")
    assert event.changes == {
        "name": ["Old Name", "New Name"],
        "job_title": ["PC", None],
        "unit_id": [None, str(unit.id)],
    }


async def test_two_edits_with_one_if_match_one_wins(client, tokens, session, forces):
    person = await make_person(session, forces[0])
    headers = {**tokens.headers("comms_admin"), "If-Match": '"v1"'}
    first = await client.patch(f"{BASE}/{person.id}", json={"name": "A"}, headers=headers)
    second = await client.patch(f"{BASE}/{person.id}", json={"name": "B"}, headers=headers)
    assert (first.status_code, second.status_code) == (200, 412)


async def test_two_concurrent_edits_with_one_if_match_one_wins(client, tokens, session, forces):
    person = await make_person(session, forces[0])
    headers = {**tokens.headers("comms_admin"), "If-Match": '"v1"'}
    results = await asyncio.gather(
        client.patch(f"{BASE}/{person.id}", json={"name": "A"}, headers=headers),
        client.patch(f"{BASE}/{person.id}", json={"name": "B"}, headers=headers),
    )
    assert sorted(r.status_code for r in results) == [200, 412]
    assert len(await _events(session, "person.updated")) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"status": "left"},
        {"left_on": "2026-01-01"},
        {"name": None},
        {"staff_id": None},
        {"email": "nope"},
        {"force": "wmids"},
    ],
)
async def test_a_patch_cannot_change_status_or_null_required_fields(
    client, tokens, session, forces, body
):
    person = await make_person(session, forces[0])
    r = await client.patch(
        f"{BASE}/{person.id}",
        json=body,
        headers={**tokens.headers("comms_admin"), "If-Match": '"v1"'},
    )
    assert r.status_code == 422


async def test_a_patch_keeps_staff_id_and_subject_unique(client, tokens, session, forces):
    await make_person(session, forces[0], staff_id="TAKEN", subject="taken-sub")
    person = await make_person(session, forces[0], subject="mine")
    headers = {**tokens.headers("comms_admin"), "If-Match": '"v1"'}
    for body in ({"staff_id": "TAKEN"}, {"subject": "taken-sub"}):
        r = await client.patch(f"{BASE}/{person.id}", json=body, headers=headers)
        assert r.status_code == 409
        assert r.json()["code"] == "duplicate-person"
    r = await client.patch(
        f"{BASE}/{person.id}",
        json={"subject": "mine", "staff_id": person.staff_id},
        headers=headers,
    )
    assert r.status_code == 200
    assert r.json()["version"] == 1  # nothing changed, nothing recorded
    assert await _events(session, "person.updated") == []


async def test_a_patch_cannot_move_a_person_to_another_forces_unit(client, tokens, session, forces):
    person = await make_person(session, forces[0])
    theirs = await make_unit(session, forces[1])
    r = await client.patch(
        f"{BASE}/{person.id}",
        json={"unit_id": str(theirs.id)},
        headers={**tokens.headers("comms_admin"), "If-Match": '"v1"'},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "unknown-unit"


# --- lists -------------------------------------------------------------------------


async def test_people_filter_by_status_unit_and_search_text(client, tokens, session, forces):
    unit = await make_unit(session, forces[0])
    await make_person(session, forces[0], staff_id="A1", name="Ann 100%", unit_id=unit.id)
    await make_person(session, forces[0], staff_id="A2", name="Ann 1000", status="left")
    await make_person(session, forces[0], staff_id="B_1", name="Bob")
    await make_person(session, forces[0], staff_id="BX1", name="Bobby")
    await make_person(session, forces[0], staff_id="C\\1", name="Carol")
    headers = tokens.headers("psd")

    async def staff_ids(**params):
        r = await client.get(BASE, params=params, headers=headers)
        assert r.status_code == 200, r.text
        return {p["staff_id"] for p in r.json()["items"]}

    assert await staff_ids() == {"A1", "A2", "B_1", "BX1", "C\\1"}
    assert await staff_ids(status="left") == {"A2"}
    assert await staff_ids(status="active") == {"A1", "B_1", "BX1", "C\\1"}
    assert await staff_ids(unit_id=str(unit.id)) == {"A1"}
    assert await staff_ids(q="ann") == {"A1", "A2"}
    assert await staff_ids(q="100%") == {"A1"}
    assert await staff_ids(q="b_1") == {"B_1"}
    assert await staff_ids(q="%") == {"A1"}
    assert await staff_ids(q="_") == {"B_1"}
    assert await staff_ids(q="\\") == {"C\\1"}


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"status": "gone"}, {"q": "x" * 201}, {"q": "a\x00"},
     {"unit_id": "nope"}, {"cursor": "%%%"}],
)  # fmt: skip
async def test_bad_people_list_parameters_are_refused(client, tokens, forces, params):
    r = await client.get(BASE, params=params, headers=tokens.headers("staff"))
    assert r.status_code == 422


async def test_people_pages_of_two_are_complete_and_stable(client, tokens, session, forces):
    for staff_id in ("P5", "P3", "P1", "P4", "P2"):
        await make_person(session, forces[0], staff_id=staff_id)
    await make_person(session, forces[1], staff_id="P0")
    headers = tokens.headers("comms_admin")
    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(BASE, params=params, headers=headers)
        pages.append([p["staff_id"] for p in r.json()["items"]])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [["P1", "P2"], ["P3", "P4"], ["P5"]]


# --- leave -------------------------------------------------------------------------


async def test_a_leaver_is_marked_left_and_editing_them_still_works(
    client, tokens, session, forces
):
    clock.freeze(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    person = await make_person(session, forces[0])
    headers = tokens.headers("comms_admin")
    r = await client.post(
        f"{BASE}/{person.id}/leave", json={"left_on": "2026-11-20"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["left_on"], r.json()["version"]) == (
        "left",
        "2026-11-20",
        2,
    )
    assert r.headers["etag"] == '"v2"'
    r = await client.get(BASE, params={"status": "left"}, headers=headers)
    assert [p["id"] for p in r.json()["items"]] == [str(person.id)]
    r = await client.patch(
        f"{BASE}/{person.id}",
        json={"job_title": "Retired"},
        headers={**headers, "If-Match": '"v2"'},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "left"


async def test_leaving_twice_is_a_conflict(client, tokens, session, forces):
    person = await make_person(session, forces[0])
    headers = tokens.headers("comms_admin")
    body = {"left_on": str(clock.today())}
    assert (
        await client.post(f"{BASE}/{person.id}/leave", json=body, headers=headers)
    ).status_code == 200
    r = await client.post(f"{BASE}/{person.id}/leave", json=body, headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "already-left"
    assert len(await _events(session, "person.left")) == 1


async def test_two_racing_leaves_one_wins_and_one_conflicts(client, tokens, session, forces):
    person = await make_person(session, forces[0])
    headers = tokens.headers("comms_admin")
    body = {"left_on": str(clock.today())}
    results = await asyncio.gather(
        client.post(f"{BASE}/{person.id}/leave", json=body, headers=headers),
        client.post(f"{BASE}/{person.id}/leave", json=body, headers=headers),
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    assert len(await _events(session, "person.left")) == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"left_on": "2026-11-21"}, {"left_on": "yesterday"}, {"left_on": None},
     {"left_on": "2026-11-01", "reason": "x"}],
)  # fmt: skip
async def test_a_leave_needs_a_date_no_later_than_today(client, tokens, session, forces, body):
    clock.freeze(datetime(2026, 11, 20, 23, 59, tzinfo=UTC))
    person = await make_person(session, forces[0])
    r = await client.post(
        f"{BASE}/{person.id}/leave", json=body, headers=tokens.headers("comms_admin")
    )
    assert r.status_code == 422
    assert await _events(session) == []


async def test_admin_marks_a_leaver_in_any_force(client, tokens, session, forces):
    person = await make_person(session, forces[1])
    r = await client.post(
        f"{BASE}/{person.id}/leave",
        json={"left_on": str(clock.today())},
        headers=tokens.headers("admin", force=None),
    )
    assert r.status_code == 200
    assert r.json()["force"] == "wmids"


@pytest.mark.parametrize("field", ["staff_id", "subject"])
async def test_a_staff_id_or_subject_taken_by_a_racing_request_is_a_duplicate_person(
    client, tokens, session, forces, monkeypatch, field
):
    from app.people import repository

    await make_person(session, forces[0], staff_id="PC1234", subject="sub-1")

    async def not_yet_taken(*_args, **_kwargs):
        return False  # the other request committed after this one checked

    monkeypatch.setattr(repository, f"{field}_taken", not_yet_taken)
    body = _new(subject="sub-1") if field == "subject" else _new(staff_id="PC1234")
    if field == "subject":
        body["staff_id"] = "PC5678"
    r = await client.post(BASE, json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["field"]) == ("duplicate-person", field)
    assert await _count_people(session) == 1
