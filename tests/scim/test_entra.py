"""The requests Microsoft Entra ID's provisioning service sends for one user's life:
assigned (query by userName, then create), updated (multi-valued and single-valued
PATCHes in Entra's dialect: capitalised op names, a value-filter path, the enterprise
extension by URN), a mover (department), disabled (`active` as the string "False"),
re-enabled, and removed (DELETE). Shapes as Microsoft's SCIM provisioning guide shows them."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from app.models import AuditEvent, Custodianship, Person
from tests.factories import make_account, make_unit
from tests.scim.conftest import CORE, ENTERPRISE, PATCH_OP, SCIM

USER = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@staffs.police.uk"


def _patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


async def _person(session, person_id: str) -> Person:
    person = await session.get(Person, uuid.UUID(person_id))
    await session.refresh(person)
    await session.commit()  # end the read: SQLite's writer must not wait on it
    return person


async def test_entra_assign_update_move_disable_reenable_remove(
    client, tokens, session, forces, scim
):
    staffs, _ = forces
    comms_unit = await make_unit(session, staffs, name="Corporate Communications")
    traffic = await make_unit(session, staffs, name="Roads Policing")
    comms_unit_id, traffic_id = comms_unit.id, traffic.id

    # Assigned: Entra first asks whether the user exists, then creates it.
    r = await client.get(f"{SCIM}/Users", params={"filter": f'userName eq "{USER}"'}, headers=scim)
    assert r.status_code == 200
    assert r.json()["totalResults"] == 0 and r.json()["Resources"] == []
    created = await client.post(
        f"{SCIM}/Users",
        headers=scim,
        json={
            "schemas": [CORE, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": USER,
            "active": True,
            "emails": [
                {"primary": True, "type": "work", "value": "Test_User_fd0ea19b@staffs.police.uk"}
            ],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "title": "Digital Media Officer",
            ENTERPRISE: {"department": "corporate communications"},
            "roles": [],
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/scim+json")
    user_id = created.json()["id"]
    assert created.headers["location"].endswith(f"/scim/v2/Users/{user_id}")
    person = await _person(session, user_id)
    assert (person.subject, person.staff_id, person.name, person.email, person.job_title) == (
        USER,
        "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "givenName familyName",
        "Test_User_fd0ea19b@staffs.police.uk",
        "Digital Media Officer",
    )
    assert person.unit_id == comms_unit_id and person.status == "active"
    # The registry's own API sees the same person at once.
    read = await client.get(f"/api/v1/people/{user_id}", headers=tokens.headers("comms_admin"))
    assert read.status_code == 200 and read.json()["subject"] == USER

    owned = await make_account(session, staffs, owner=person)
    other_owner = await make_account(session, staffs)
    session.add(
        Custodianship(
            force_id=staffs.id,
            account_id=other_owner.id,
            person_id=person.id,
            role="editor",
            valid_from=owned.created_at,
        )
    )
    await session.commit()

    got = await client.get(f"{SCIM}/Users/{user_id}", headers=scim)
    assert got.status_code == 200 and got.json()["userName"] == USER

    # Updated: multi-valued properties, Entra's capitalised ops and value-filter path.
    r = await client.patch(
        f"{SCIM}/Users/{user_id}",
        headers=scim,
        json=_patch(
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@staffs.police.uk",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ),
    )
    assert r.status_code == 200, r.text
    assert r.json()["emails"][0]["value"] == "updatedEmail@staffs.police.uk"
    assert r.json()["name"]["familyName"] == "updatedFamilyName"
    assert (await _person(session, user_id)).email == "updatedEmail@staffs.police.uk"

    # A mover: the department by its URN, and a single-valued property.
    r = await client.patch(
        f"{SCIM}/Users/{user_id}",
        headers=scim,
        json=_patch(
            {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Roads Policing"},
            {"op": "Replace", "path": "displayName", "value": "Sam Updated"},
            {"op": "replace", "path": "title", "value": "Sergeant"},
        ),
    )
    assert r.status_code == 200, r.text
    person = await _person(session, user_id)
    assert (person.unit_id, person.name, person.job_title) == (
        traffic_id,
        "Sam Updated",
        "Sergeant",
    )
    assert r.json()[ENTERPRISE]["department"] == "Roads Policing"

    # Disabled (unassigned or blocked): `active` as the string "False".
    r = await client.patch(
        f"{SCIM}/Users/{user_id}",
        headers=scim,
        json=_patch({"op": "Replace", "path": "active", "value": "False"}),
    )
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    person = await _person(session, user_id)
    assert person.status == "left" and person.left_on is not None
    editorship = await session.scalar(
        sa.select(Custodianship).where(
            Custodianship.person_id == person.id, Custodianship.role == "editor"
        )
    )
    assert editorship.valid_to is not None
    ended_at = editorship.valid_to
    await session.commit()
    # Comms admins see the owned account orphaned in the next read.
    account = await client.get(
        f"/api/v1/accounts/{owned.id}", headers=tokens.headers("comms_admin")
    )
    assert "orphaned" in account.json()["flags"]
    # Entra reads the disabled user back by filter, and must see active false.
    r = await client.get(
        f"{SCIM}/Users",
        headers=scim,
        params={"filter": f'userName eq "{USER}" and active eq false'},
    )
    assert r.json()["totalResults"] == 1 and r.json()["Resources"][0]["active"] is False

    # Re-enabled: the status comes back, history stays as it was.
    r = await client.patch(
        f"{SCIM}/Users/{user_id}",
        headers=scim,
        json=_patch({"op": "Replace", "path": "active", "value": "True"}),
    )
    assert r.status_code == 200 and r.json()["active"] is True
    person = await _person(session, user_id)
    assert person.status == "active" and person.left_on is None
    await session.refresh(editorship)
    assert editorship.valid_to == ended_at
    await session.commit()
    account = await client.get(
        f"/api/v1/accounts/{owned.id}", headers=tokens.headers("comms_admin")
    )
    assert "orphaned" not in account.json()["flags"]

    # Removed: DELETE is a leaver too; SCIM no longer shows the user.
    r = await client.delete(f"{SCIM}/Users/{user_id}", headers=scim)
    assert r.status_code == 204
    assert (await client.get(f"{SCIM}/Users/{user_id}", headers=scim)).status_code == 404
    r = await client.get(f"{SCIM}/Users", params={"filter": f'userName eq "{USER}"'}, headers=scim)
    assert r.json()["totalResults"] == 0
    person = await _person(session, user_id)
    assert person.status == "left"

    # Every change is audited with the provisioning actor.
    events = (
        await session.scalars(
            sa.select(AuditEvent).where(AuditEvent.entity_id == user_id).order_by(AuditEvent.id)
        )
    ).all()
    assert [e.action for e in events] == [
        "person.created",
        "person.updated",
        "person.updated",
        "person.left",
        "person.rejoined",
        "person.left",
        "scim_user.deleted",
    ]
    assert {e.actor_sub.startswith("scim:") for e in events} == {True}
    assert {tuple(e.actor_roles) for e in events} == {("provisioning",)}
    assert {e.actor_force for e in events} == {"staffs"}
