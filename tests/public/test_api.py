"""The public routes: no token, nothing but active corporate/official accounts, rate-limited."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from app import clock
from app.main import create_app
from app.public.ratelimit import SlidingWindowLimiter
from tests.factories import make_account, make_force, make_person

API = "/api/v1/public"


@pytest.fixture
async def staffs(session):
    return await make_force(session, "staffs", name="Staffordshire Police")


async def test_verify_an_active_official_account(client, session, staffs):
    owner = await make_person(session, staffs, name="Secret Operator")
    await make_account(
        session, staffs, platform="x", handle="staffspoldogs", display_name="Staffs Dogs",
        classification="official", owner=owner,
    )  # fmt: skip
    r = await client.get(f"{API}/verify", params={"url": "https://x.com/StaffsPolDogs?s=20"})
    assert r.status_code == 200
    assert r.json() == {
        "verified": True,
        "force": {"code": "staffs", "name": "Staffordshire Police"},
        "platform": "x",
        "handle": "staffspoldogs",
        "display_name": "Staffs Dogs",
        "classification": "official",
        "url": "https://x.com/staffspoldogs",
    }


@pytest.mark.parametrize(
    ("classification", "status"),
    [
        ("unofficial", "active"),
        ("official", "pending_approval"),
        ("official", "suspended"),
        ("corporate", "decommissioned"),
        ("official", "rejected"),
    ],
)
async def test_nothing_leaks_about_unofficial_or_inactive_accounts(
    client, session, staffs, classification, status
):
    await make_account(
        session, staffs, handle="hidden", classification=classification, status=status
    )
    r = await client.get(f"{API}/verify", params={"url": "https://twitter.com/hidden"})
    assert r.status_code == 200
    assert r.json() == {"verified": False, "resembles": []}


async def test_unknown_account_is_not_verified_and_a_bad_link_is_422(client, staffs):
    r = await client.get(f"{API}/verify", params={"url": "https://x.com/nobody"})
    assert r.json() == {"verified": False, "resembles": []}
    r = await client.get(f"{API}/verify", params={"url": "https://x.com/home"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "url"]
    r = await client.get(f"{API}/verify")
    assert r.status_code == 422


async def test_directory_lists_active_official_and_corporate_accounts_only(client, session, staffs):
    wmids = await make_force(session, "wmids")
    owner = await make_person(session, staffs)
    shown = [
        await make_account(session, staffs, handle="b_official", owner=owner),
        await make_account(session, staffs, handle="a_corporate", classification="corporate"),
        await make_account(session, wmids, handle="c_theirs"),
        await make_account(session, staffs, platform="facebook", handle="fbstaffs"),
    ]
    await make_account(session, staffs, handle="unoff", classification="unofficial")
    await make_account(session, staffs, handle="pending", status="pending_approval")
    r = await client.get(f"{API}/accounts")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["platform"], i["handle"]) for i in items] == [
        ("facebook", "fbstaffs"), ("x", "a_corporate"), ("x", "b_official"), ("x", "c_theirs"),
    ]  # fmt: skip
    assert set(items[0]) == {"force", "platform", "handle", "url", "display_name", "classification"}
    assert str(owner.id) not in r.text
    assert len(shown) == len(items)
    r = await client.get(f"{API}/accounts", params={"force": "wmids"})
    assert [i["handle"] for i in r.json()["items"]] == ["c_theirs"]
    r = await client.get(f"{API}/accounts", params={"platform": "facebook"})
    assert [i["handle"] for i in r.json()["items"]] == ["fbstaffs"]
    r = await client.get(f"{API}/accounts", params={"force": "nowhere"})
    assert r.status_code == 404
    r = await client.get(f"{API}/accounts", params={"platform": "myspace"})
    assert r.status_code == 422


async def test_directory_pages_by_keyset(client, session, staffs):
    for n in range(5):
        await make_account(session, staffs, handle=f"acct{n}")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"{API}/accounts", params=params)
        seen += [i["handle"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"acct{n}" for n in range(5)]
    r = await client.get(f"{API}/accounts", params={"cursor": "!!"})
    assert r.status_code == 422


async def test_public_routes_need_no_token_but_ignore_a_bad_one(client, staffs):
    r = await client.get(f"{API}/accounts", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 200


async def test_over_the_limit_a_client_gets_429_with_retry_after(settings, db, session, staffs):
    limited = create_app(settings.model_copy(update={"public_rate_limit": 3}), database=db)
    clock.freeze(datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC))

    def client_from(address):
        transport = httpx.ASGITransport(app=limited, client=(address, 1234))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    async with client_from("203.0.113.1") as first, client_from("203.0.113.2") as second:
        for _ in range(3):
            assert (await first.get(f"{API}/accounts")).status_code == 200
        r = await first.get(f"{API}/verify", params={"url": "https://x.com/abc"})
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "rate-limited"
        assert 1 <= int(r.headers["retry-after"]) <= 120
        assert (await second.get(f"{API}/accounts")).status_code == 200  # per address
        clock.freeze(datetime(2026, 5, 1, 12, 2, 0, tzinfo=UTC))
        assert (await first.get(f"{API}/accounts")).status_code == 200


def test_the_limiter_slides_instead_of_resetting_at_the_minute():
    limiter = SlidingWindowLimiter(limit=10, window=60)
    for _ in range(10):
        assert limiter.hit("a", 50.0) is None
    assert limiter.hit("a", 59.0) is not None
    # 1 s into the next window, almost all of the previous window's 10 still count.
    wait = limiter.hit("a", 61.0)
    assert wait == 5  # by 66 s only 90 % of them overlap the last minute: room for one
    assert limiter.hit("a", 65.0) is not None
    assert limiter.hit("a", 66.0) is None
    assert limiter.hit("a", 66.0) is not None


def test_the_limiter_memory_is_bounded():
    limiter = SlidingWindowLimiter(limit=1, window=60, max_clients=100)
    for n in range(1000):
        limiter.hit(f"10.0.{n // 256}.{n % 256}", 1.0)
    assert len(limiter._current) <= 100
    limiter.hit("x", 61.0)
    limiter.hit("y", 200.0)
    assert len(limiter._previous) == 0 and len(limiter._current) == 1
