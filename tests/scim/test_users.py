"""SCIM Users: filters, paging, the mapping onto person records, SCIM errors."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import Person
from tests.factories import make_account, make_person
from tests.scim.conftest import PATCH_OP, SCIM, user_body

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def _make(client, scim, n: int, **extra) -> str:
    body = user_body(f"user{n}@staffs.police.uk", externalId=f"E{n}", **extra)
    body["emails"] = [{"type": "work", "value": f"user{n}@staffs.police.uk"}]
    r = await client.post(f"{SCIM}/Users", json=body, headers=scim)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _names(client, scim, **params) -> list[str]:
    r = await client.get(f"{SCIM}/Users", params=params, headers=scim)
    assert r.status_code == 200, r.text
    return sorted(u["userName"] for u in r.json()["Resources"])


async def test_filters_on_username_externalid_active_with_and_or(client, scim):
    for n in range(1, 5):
        await _make(client, scim, n, active=n != 4)
    assert await _names(client, scim, filter='userName eq "USER1@staffs.police.uk"') == [
        "user1@staffs.police.uk"
    ]
    assert await _names(client, scim, filter='externalId eq "E2"') == ["user2@staffs.police.uk"]
    assert await _names(client, scim, filter='externalId eq "e2"') == []  # caseExact
    assert await _names(client, scim, filter="active eq false") == ["user4@staffs.police.uk"]
    assert await _names(
        client, scim, filter='externalId eq "E1" or externalId eq "E3" and active eq true'
    ) == ["user1@staffs.police.uk", "user3@staffs.police.uk"]
    assert await _names(
        client, scim, filter='(externalId eq "E1" or externalId eq "E4") and active eq true'
    ) == ["user1@staffs.police.uk"]
    assert await _names(
        client, scim, filter='emails[type eq "work" and value eq "user3@staffs.police.uk"]'
    ) == ["user3@staffs.police.uk"]


async def test_start_index_and_count_page_the_users(client, scim):
    for n in range(1, 6):
        await _make(client, scim, n)
    r = await client.get(f"{SCIM}/Users", params={"startIndex": 2, "count": 2}, headers=scim)
    body = r.json()
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (5, 2, 2)
    assert [u["externalId"] for u in body["Resources"]] == ["E2", "E3"]
    r = await client.get(f"{SCIM}/Users", params={"count": 0}, headers=scim)
    assert r.json()["totalResults"] == 5 and r.json()["Resources"] == []


async def test_bad_filters_and_bodies_are_scim_errors(client, scim):
    cases = [
        ("GET", f"{SCIM}/Users?filter=userName%20eq", None, 400, "invalidFilter"),
        ("GET", f"{SCIM}/Users?filter=nickName%20eq%20%22x%22", None, 400, "invalidFilter"),
        ("POST", f"{SCIM}/Users", {"schemas": [], "displayName": "x"}, 400, None),
        (
            "POST",
            f"{SCIM}/Users",
            user_body(emails=[{"type": "work", "value": "nope"}]),
            400,
            "invalidValue",
        ),
        (
            "PATCH",
            f"{SCIM}/Users/00000000-0000-4000-8000-000000000000",
            {"schemas": [PATCH_OP], "Operations": []},
            404,
            None,
        ),
        ("DELETE", f"{SCIM}/Users/not-a-uuid", None, 404, None),
        ("PUT", f"{SCIM}/Groups/1", {}, 404, None),
    ]
    for method, url, body, status, scim_type in cases:
        r = await client.request(method, url, json=body, headers=scim)
        assert r.status_code == status, (method, url, r.text)
        assert r.headers["content-type"].startswith("application/scim+json"), url
        doc = r.json()
        assert doc["schemas"] == [ERROR] and doc["status"] == str(status)
        if scim_type:
            assert doc.get("scimType") == scim_type, (url, doc)
    r = await client.post(f"{SCIM}/Users", content=b"{not json", headers=scim)
    assert r.status_code == 400 and r.json()["schemas"] == [ERROR]


async def test_a_duplicate_username_is_a_uniqueness_error_and_writes_nothing(client, scim, session):
    await _make(client, scim, 1)
    again = user_body("USER1@staffs.police.uk", externalId="other")
    r = await client.post(f"{SCIM}/Users", json=again, headers=scim)
    assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
    dup_staff = user_body("someone.else@staffs.police.uk", externalId="E1")
    r = await client.post(f"{SCIM}/Users", json=dup_staff, headers=scim)
    assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
    assert await session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


async def test_people_made_by_hand_are_matched_by_their_sign_in_subject(
    client, scim, session, forces
):
    staffs, _ = forces
    person = await make_person(session, staffs, subject="pat@staffs.police.uk", staff_id="P9")
    await make_person(session, staffs)  # no subject: not a SCIM user
    r = await client.get(
        f"{SCIM}/Users", params={"filter": 'userName eq "pat@staffs.police.uk"'}, headers=scim
    )
    [found] = r.json()["Resources"]
    assert found["id"] == str(person.id) and found["externalId"] == "P9"
    assert found["displayName"] == person.name and found["active"] is True
    assert r.json()["totalResults"] == 1


async def test_a_user_created_inactive_is_a_leaver_and_put_reactivates(client, scim, session):
    user_id = await _make(client, scim, 7, active=False)
    person = await session.get(Person, __import__("uuid").UUID(user_id))
    assert person.status == "left"
    await session.commit()
    body = user_body("user7@staffs.police.uk", externalId="E7", active=True, title="Inspector")
    r = await client.put(f"{SCIM}/Users/{user_id}", json=body, headers=scim)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is True and r.json()["title"] == "Inspector"
    await session.refresh(person)
    assert person.status == "active" and person.job_title == "Inspector"
    await session.commit()


async def test_a_person_disabled_through_scim_orphans_their_accounts_in_the_next_read(
    client, tokens, scim, session, forces
):
    staffs, _ = forces
    person = await make_person(session, staffs, subject="owner@staffs.police.uk")
    account = await make_account(session, staffs, owner=person)
    comms = tokens.headers("comms_admin")
    before = await client.get(f"/api/v1/accounts/{account.id}", headers=comms)
    assert "orphaned" not in before.json()["flags"]
    r = await client.patch(
        f"{SCIM}/Users/{person.id}",
        headers=scim,
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert r.status_code == 200, r.text
    after = await client.get(f"/api/v1/accounts/{account.id}", headers=comms)
    assert "orphaned" in after.json()["flags"]
    listed = await client.get("/api/v1/accounts", params={"flag": "orphaned"}, headers=comms)
    assert [a["id"] for a in listed.json()["items"]] == [str(account.id)]
