"""/public/verify names the official accounts a handle imitates, and nothing else."""

from __future__ import annotations

import pytest

from tests.factories import make_account

VERIFY = "/api/v1/public/verify"


async def _resembles(client, url: str) -> list[tuple[str, str, str]]:
    r = await client.get(VERIFY, params={"url": url})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is False
    assert set(body) == {"verified", "resembles"}
    return [(m["platform"], m["handle"], m["match"]) for m in body["resembles"]]


async def test_a_verified_account_has_its_link_and_no_resembles(client, official):
    r = await client.get(VERIFY, params={"url": "https://x.com/StaffsPolice"})
    assert r.json() == {
        "verified": True,
        "force": {"code": "staffs", "name": "Staffordshire Police"},
        "platform": "x",
        "handle": "staffspolice",
        "display_name": "Staffordshire Police staffspolice",
        "classification": "corporate",
        "url": "https://x.com/staffspolice",
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://x.com/StaffsPoIice",  # capital I for l
        "https://x.com/staffsp0lice",  # zero for o
        "https://x.com/staffs_police1",  # separator and digit added
        "https://twitter.com/staffspolice99",
        "https://x.com/st%D0%B0ffspolice",  # Cyrillic a, as a browser sends it
        "https://x.com/st\u0430ffspolice",  # Cyrillic a, as typed
    ],
)
async def test_a_confusable_handle_resembles_the_official_one_first(client, official, url):
    found = await _resembles(client, url)
    # The same skeleton, this platform's account before the other platform's.
    assert found[:2] == [
        ("x", "staffspolice", "confusable"),
        ("instagram", "staffspolice", "confusable"),
    ]


async def test_another_platform_with_the_official_handle(client, official):
    found = await _resembles(client, "https://www.tiktok.com/@staffspolice")
    assert sorted(found[:2], reverse=True) == [
        ("x", "staffspolice", "confusable"),
        ("instagram", "staffspolice", "confusable"),
    ]


async def test_a_small_edit_distance(client, official):
    found = await _resembles(client, "https://x.com/staffspolise")
    assert found[0] == ("x", "staffspolice", "similar")
    assert ("x", "staffspoldogs", "similar") not in found[:1]


async def test_the_force_name_in_the_handle(client, official):
    found = await _resembles(client, "https://www.instagram.com/westmidlandspolice_uk")
    assert found == [("x", "wmpolice", "force_name")]


async def test_at_most_three_answers(client, session, official):
    staffs = official[("x", "staffspolice")].force_id
    for platform in ("facebook", "youtube", "threads"):
        await make_account(
            session, type("F", (), {"id": staffs, "code": "staffs"})(), platform=platform,
            handle="staffs.police", classification="official",
        )  # fmt: skip
    await session.commit()
    found = await _resembles(client, "https://x.com/staffs_police")
    assert len(found) == 3
    assert found[0] == ("x", "staffspolice", "confusable")


@pytest.mark.parametrize(
    "url",
    [
        "https://x.com/staffspolicehq",  # an unofficial account: same handle, not named
        "https://x.com/staffspolicenew",  # pending
        "https://x.com/staffspoliceold",  # decommissioned
        "https://x.com/wmpolicearchive",  # suspended
    ],
)
async def test_never_names_unofficial_pending_or_closed_accounts(client, official, url):
    found = await _resembles(client, url)
    hidden = {"staffspolicehq", "staffspolicenew", "staffspoliceold", "wmpolicearchive"}
    assert not {handle for _, handle, _ in found} & hidden
    r = await client.get(VERIFY, params={"url": url})
    assert r.json()["verified"] is False


async def test_an_unrelated_handle_resembles_nothing(client, official):
    assert await _resembles(client, "https://x.com/bakery_of_leeds") == []


async def test_a_link_that_is_no_account_is_still_a_422(client, official):
    r = await client.get(VERIFY, params={"url": "https://x.com/"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get(VERIFY, params={"url": "not a link"})
    assert r.status_code == 422


async def test_hostile_input_is_bounded(client, official):
    r = await client.get(VERIFY, params={"url": "https://x.com/" + "\u0430" * 2000})
    assert r.status_code in (200, 422)
    r = await client.get(VERIFY, params={"url": "https://x.com/" + "a" * 3000})
    assert r.status_code == 422  # over the 2,048 characters of a link
