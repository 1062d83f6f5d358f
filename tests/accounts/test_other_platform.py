"""`platform: other` cannot shadow a known platform, and `other` links are one account each.

The attack: `{"platform":"other","handle":"x.com/<an official handle>"}` was created (201) and
the public directory listed that X account under a second force.
"""

from __future__ import annotations

import pytest

from tests.accounts.common import API
from tests.factories import make_account

PROBLEM = "application/problem+json"

# Ways of writing the staffs dog unit's X account under `other`.
SHADOWS = [
    {"platform": "other", "handle": "x.com/StaffsPolDogs"},
    {"platform": "other", "handle": "https://twitter.com/StaffsPolDogs?s=20"},
    {"platform": "other", "handle": "@MOBILE.TWITTER.COM/staffspoldogs/"},
    {"platform": "other", "handle": "//www.x.com/StaffsPolDogs#top"},
    {"platform": "other", "handle": "X.COM./StaffsPolDogs"},
    {"platform": "other", "url": "https://x.com/StaffsPolDogs"},
    {"platform": "Other", "url": "twitter.com/staffspoldogs"},
]
# Text in which a browser still finds X's host, though it is no account link.
REFUSED = [
    "x.com:443/StaffsPolDogs",
    "https://someone@x.com/StaffsPolDogs",
    "%78.com/StaffsPolDogs",
    "x\u3002com/StaffsPolDogs",
    "x.com:StaffsPolDogs",
    "https://x.com/home",
    "evil.x.com/StaffsPolDogs",
    "t.co/abc123",
]


@pytest.fixture
async def dogs(session, staffs):
    return await make_account(
        session, staffs, platform="x", handle="staffspoldogs", display_name="Staffs Police Dogs"
    )


def _body(account: dict[str, str]) -> dict[str, object]:
    return {**account, "display_name": "Shadow", "classification": "official"}


@pytest.mark.parametrize("shadow", SHADOWS, ids=lambda s: s.get("handle") or s.get("url"))
async def test_an_other_account_naming_a_known_platform_is_that_platform(
    client, tokens, dogs, wmids, shadow
):
    headers = tokens.headers("comms_admin", force="wmids")
    r = await client.post(f"{API}/accounts", json=_body(shadow), headers=headers)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "duplicate-account"
    public = await client.get(f"{API}/public/accounts", params={"force": "wmids"})
    assert public.status_code == 200
    assert public.json()["items"] == []


async def test_an_other_link_to_a_free_x_handle_registers_the_x_account(client, tokens, wmids):
    headers = tokens.headers("comms_admin", force="wmids")
    body = _body({"platform": "other", "handle": "x.com/WMPoliceDogs"})
    r = await client.post(f"{API}/accounts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert (r.json()["platform"], r.json()["handle"]) == ("x", "wmpolicedogs")
    assert r.json()["url"] == "https://x.com/wmpolicedogs"


@pytest.mark.parametrize("handle", REFUSED)
async def test_other_text_that_still_points_at_a_known_host_is_refused(
    client, db, tokens, dogs, wmids, handle
):
    headers = tokens.headers("comms_admin", force="wmids")
    r = await client.post(
        f"{API}/accounts", json=_body({"platform": "other", "handle": handle}), headers=headers
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["loc"] == ["body", "handle"]
    listed = await client.get(f"{API}/accounts", headers=headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    "second",
    [
        {"platform": "other", "handle": "example.org/Station"},
        {"platform": "other", "handle": "https://www.example.org/station/"},
        {"platform": "other", "url": "http://EXAMPLE.org/%73tation?utm_source=x#about"},
        {"url": "https://example.org/news/../station"},
        {"platform": "other", "handle": "example.org./station"},
    ],
)
async def test_other_links_are_normalised_and_unique_among_live_accounts(
    client, tokens, staffs, wmids, second
):
    first = _body({"url": "https://www.Example.org/Station/"})
    r = await client.post(f"{API}/accounts", json=first, headers=tokens.headers("comms_admin"))
    assert r.status_code == 201, r.text
    assert (r.json()["platform"], r.json()["handle"]) == ("other", "example.org/station")
    r = await client.post(
        f"{API}/accounts", json=_body(second), headers=tokens.headers("comms_admin", force="wmids")
    )
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "duplicate-account"


async def test_plain_other_names_are_still_accepted(client, tokens, staffs):
    body = _body({"platform": "other", "handle": "Radio-Call-Sign"})
    r = await client.post(f"{API}/accounts", json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 201, r.text
    assert (r.json()["platform"], r.json()["handle"]) == ("other", "radio-call-sign")


async def test_an_import_cannot_shadow_a_known_platform_under_other(client, tokens, dogs, wmids):
    csv = (
        "platform,handle,display_name,classification\n"
        "other,x.com/StaffsPolDogs,Shadow,official\n"
        "other,x.com:443/StaffsPolDogs,Shadow 2,official\n"
    )
    r = await client.post(
        f"{API}/imports/accounts",
        content=csv.encode(),
        headers={**tokens.headers("comms_admin", force="wmids"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    errors = {e["line"]: e for e in r.json()["errors"]}
    assert "already registered" in errors[2]["msg"]
    assert errors[3]["field"] == "handle" and "belongs to X" in errors[3]["msg"]


async def test_lookup_under_other_finds_the_known_platform_account(client, tokens, dogs):
    r = await client.get(
        f"{API}/lookup",
        params={"platform": "other", "handle": "x.com/StaffsPolDogs"},
        headers=tokens.headers("comms_admin"),
    )
    assert r.status_code == 200, r.text
    assert [item["id"] for item in r.json()["items"]] == [str(dogs.id)]
