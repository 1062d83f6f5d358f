"""SPEC §3 who-sees-what for accounts, one test per row of the table (and per role in it).

Every rule is checked on both the single read and the list, which share `visible_to`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from tests.factories import make_account, make_force, make_person

API = "/api/v1"


@pytest.fixture
async def world(session):
    """Two forces; in staffs an official, a corporate and two unofficial accounts (one
    anonymous), run by PC Ann (subject pc-ann) and PC Bob (subject pc-bob)."""
    staffs = await make_force(session, "staffs")
    wmids = await make_force(session, "wmids")
    ann = await make_person(session, staffs, subject="pc-ann", name="PC Ann")
    bob = await make_person(session, staffs, subject="pc-bob", name="PC Bob")
    return {
        "official": await make_account(session, staffs, classification="official", owner=ann),
        "corporate": await make_account(session, staffs, classification="corporate"),
        "anns": await make_account(session, staffs, classification="unofficial", owner=ann),
        "bobs_anon": await make_account(
            session, staffs, classification="unofficial", owner=bob, is_anonymous=True
        ),
        "theirs": await make_account(session, wmids, classification="official"),
        "ann": ann,
        "bob": bob,
        "staffs": staffs,
        "wmids": wmids,
    }


async def _sees(client, headers, account) -> bool:
    r = await client.get(f"{API}/accounts/{account.id}", headers=headers)
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


async def _listed(client, headers) -> set[str]:
    r = await client.get(f"{API}/accounts", headers=headers)
    assert r.status_code == 200
    return {item["id"] for item in r.json()["items"]}


def _ids(world, *names) -> set[str]:
    return {str(world[n].id) for n in names}


# --- row: read corporate/official accounts -------------------------------------------


@pytest.mark.parametrize("role", ["staff", "comms_admin", "psd", "collector"])
async def test_force_roles_read_corporate_and_official_accounts_of_their_force_only(
    client, tokens, world, role
):
    headers = tokens.headers(role)
    assert await _sees(client, headers, world["official"])
    assert await _sees(client, headers, world["corporate"])
    assert not await _sees(client, headers, world["theirs"])
    assert _ids(world, "official", "corporate") <= await _listed(client, headers)
    assert str(world["theirs"].id) not in await _listed(client, headers)


@pytest.mark.parametrize("role", ["auditor", "admin"])
async def test_national_roles_read_corporate_and_official_accounts_of_all_forces(
    client, tokens, world, role
):
    headers = tokens.headers(role, force=None)
    for name in ("official", "corporate", "theirs"):
        assert await _sees(client, headers, world[name])
    assert _ids(world, "official", "corporate", "theirs") <= await _listed(client, headers)


# --- row: read unofficial accounts ----------------------------------------------------


async def test_staff_read_only_the_unofficial_accounts_they_operate(client, tokens, world):
    ann = tokens.headers("staff", sub="pc-ann")
    assert await _sees(client, ann, world["anns"])
    assert not await _sees(client, ann, world["bobs_anon"])  # a colleague's: 404
    assert await _listed(client, ann) == _ids(world, "official", "corporate", "anns")


async def test_staff_without_a_person_record_see_no_unofficial_account(client, tokens, world):
    stranger = tokens.headers("staff", sub="nobody")
    assert await _listed(client, stranger) == _ids(world, "official", "corporate")


async def test_staff_editors_see_the_unofficial_account_until_their_role_ends(
    client, tokens, session, world
):
    staffs = world["staffs"]
    carol = await make_person(session, staffs, subject="pc-carol")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock.freeze(start)
    account = await make_account(
        session, staffs, classification="unofficial", owner=world["ann"], editors=(carol,)
    )
    headers = tokens.headers("staff", sub="pc-carol")
    assert await _sees(client, headers, account)
    clock.freeze(start + timedelta(days=1))
    admin = tokens.headers("comms_admin")
    r = await client.delete(f"{API}/accounts/{account.id}/editors/{carol.id}", headers=admin)
    assert r.status_code == 200
    assert not await _sees(client, headers, account)


async def test_a_staff_subject_in_another_force_does_not_count_as_operator(
    client, tokens, session, world
):
    await make_person(session, world["wmids"], subject="pc-ann")  # same subject, other force
    headers = tokens.headers("staff", force="wmids", sub="pc-ann")
    assert not await _sees(client, headers, world["anns"])


@pytest.mark.parametrize("role", ["comms_admin", "psd", "collector"])
async def test_force_wide_roles_read_every_unofficial_account_of_their_force(
    client, tokens, world, role
):
    headers = tokens.headers(role)
    assert await _sees(client, headers, world["anns"])
    assert await _sees(client, headers, world["bobs_anon"])
    assert await _listed(client, headers) == _ids(
        world, "official", "corporate", "anns", "bobs_anon"
    )


async def test_auditor_reads_all_unofficial_accounts_with_operators_redacted(client, tokens, world):
    headers = tokens.headers("auditor", force=None)
    for name in ("anns", "bobs_anon", "official"):
        r = await client.get(f"{API}/accounts/{world[name].id}", headers=headers)
        assert r.status_code == 200
        assert r.json()["owner"] is None and r.json()["editors"] == []
        assert r.json()["operators_redacted"] is True
    r = await client.get(f"{API}/accounts", headers=headers)
    items = r.json()["items"]
    assert items and all(i["owner"] is None and i["operators_redacted"] for i in items)


async def test_admin_reads_every_account_with_operators(client, tokens, world):
    headers = tokens.headers("admin", force=None)
    r = await client.get(f"{API}/accounts/{world['bobs_anon'].id}", headers=headers)
    assert r.json()["owner"] == {"id": str(world["bob"].id), "name": "PC Bob"}
    assert await _listed(client, headers) == _ids(
        world, "official", "corporate", "anns", "bobs_anon", "theirs"
    )


# --- row: see operators of anonymous accounts ------------------------------------------


async def test_operators_of_an_anonymous_account_are_shown_to_the_operator_only_among_staff(
    client, tokens, session, world
):
    anon_official = await make_account(
        session, world["staffs"], classification="official", owner=world["bob"], is_anonymous=True
    )
    url = f"{API}/accounts/{anon_official.id}"
    r = await client.get(url, headers=tokens.headers("staff", sub="pc-bob"))
    assert r.json()["owner"] == {"id": str(world["bob"].id), "name": "PC Bob"}
    r = await client.get(url, headers=tokens.headers("staff", sub="pc-ann"))
    assert r.json()["owner"] is None and r.json()["operators_redacted"] is True
    r = await client.get(f"{API}/accounts/{world['official'].id}", headers=tokens.headers("staff"))
    assert r.json()["owner"]["name"] == "PC Ann"  # not anonymous: shown


@pytest.mark.parametrize("role", ["comms_admin", "psd"])
async def test_comms_admin_and_psd_see_operators_of_anonymous_accounts(client, tokens, world, role):
    r = await client.get(f"{API}/accounts/{world['bobs_anon'].id}", headers=tokens.headers(role))
    assert r.json()["owner"] == {"id": str(world["bob"].id), "name": "PC Bob"}


async def test_auditor_does_not_see_operators_of_anonymous_accounts(client, tokens, world):
    headers = tokens.headers("auditor", force=None)
    r = await client.get(f"{API}/accounts/{world['bobs_anon'].id}", headers=headers)
    assert r.json()["owner"] is None and r.json()["operators_redacted"] is True


async def test_collector_does_not_see_operators_of_anonymous_accounts(client, tokens, world):
    r = await client.get(
        f"{API}/accounts/{world['bobs_anon'].id}", headers=tokens.headers("collector")
    )
    assert r.json()["owner"] is None and r.json()["operators_redacted"] is True


async def test_csv_redacts_operators_as_the_json_does(client, tokens, world):
    headers = {**tokens.headers("auditor", force=None), "Accept": "text/csv"}
    r = await client.get(f"{API}/accounts", headers=headers)
    assert "PC Ann" not in r.text and "PC Bob" not in r.text
    assert str(world["ann"].id) not in r.text and str(world["bob"].id) not in r.text
    assert str(world["anns"].id) in r.text
    headers = {**tokens.headers("staff", sub="pc-ann"), "Accept": "text/csv"}
    r = await client.get(f"{API}/accounts", headers=headers)
    assert str(world["bobs_anon"].id) not in r.text


# --- row: create/edit accounts ---------------------------------------------------------

BODY = {"url": "https://x.com/newone", "classification": "official"}


@pytest.mark.parametrize("role", ["comms_admin", "admin"])
async def test_comms_admin_and_admin_register_accounts(client, tokens, world, role):
    force = None if role == "admin" else "staffs"
    body = {**BODY, "force": "staffs"} if role == "admin" else BODY
    r = await client.post(f"{API}/accounts", json=body, headers=tokens.headers(role, force=force))
    assert r.status_code == 201


async def test_staff_may_only_declare_their_own(client, tokens, world):
    r = await client.post(
        f"{API}/accounts", json=BODY, headers=tokens.headers("staff", sub="pc-ann")
    )
    assert r.status_code == 201
    assert r.json()["status"] == "pending_approval"
    assert r.json()["owner"]["id"] == str(world["ann"].id)


@pytest.mark.parametrize("role", ["psd", "auditor", "collector"])
async def test_psd_auditor_and_collector_may_not_create_or_edit(client, tokens, world, role):
    force = None if role == "auditor" else "staffs"
    headers = tokens.headers(role, force=force)
    assert (await client.post(f"{API}/accounts", json=BODY, headers=headers)).status_code == 403
    r = await client.patch(
        f"{API}/accounts/{world['official'].id}",
        json={"display_name": "x"},
        headers={**headers, "If-Match": '"v1"'},
    )
    assert r.status_code == 403


# --- row: custodians at an instant, history -----------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("staff", 403), ("collector", 403), ("auditor", 403), ("comms_admin", 200), ("psd", 200),
     ("admin", 200)],
)  # fmt: skip
async def test_custodians_and_history_are_for_comms_admin_psd_and_admin(
    client, tokens, world, role, status
):
    force = None if role in ("auditor", "admin") else "staffs"
    headers = tokens.headers(role, force=force)
    account = world["official"]
    for path in (
        f"/accounts/{account.id}/custodians",
        f"/accounts/{account.id}/history",
        f"/people/{world['ann'].id}/accounts",
    ):
        r = await client.get(API + path, headers=headers)
        assert r.status_code == status, (path, r.text)


async def test_callers_of_one_shape_in_one_second_each_see_their_own(client, tokens, world):
    clock.freeze(datetime(2026, 2, 1, 8, tzinfo=UTC))  # one cached statement serves both
    ann = await _listed(client, tokens.headers("staff", sub="pc-ann"))
    bob = await _listed(client, tokens.headers("staff", sub="pc-bob"))
    assert ann == _ids(world, "official", "corporate", "anns")
    assert bob == _ids(world, "official", "corporate", "bobs_anon")
    r = await client.get(
        f"{API}/accounts/{world['anns'].id}", headers=tokens.headers("staff", sub="pc-bob")
    )
    assert r.status_code == 404
