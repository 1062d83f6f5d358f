"""GET /accounts/{id}/lookalikes and POST /lookalikes/check, over HTTP."""

from __future__ import annotations

from tests.factories import make_account

API = "/api/v1"


async def test_an_unofficial_accounts_lookalikes(client, tokens, session, official):
    staffs = official[("x", "staffspolice")]
    impostor = await make_account(
        session, type("F", (), {"id": staffs.force_id, "code": "staffs"})(),
        handle="staffs_police1", classification="unofficial",
    )  # fmt: skip
    await session.commit()
    r = await client.get(
        f"{API}/accounts/{impostor.id}/lookalikes", headers=tokens.headers("staff", force="staffs")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(m["platform"], m["handle"], m["match"]) for m in body["resembles"]][:2] == [
        ("x", "staffspolice", "confusable"),
        ("instagram", "staffspolice", "confusable"),
    ]
    assert body["imitated_by"] == []


async def test_an_official_account_lists_its_imitators_in_scope(client, tokens, session, official):
    account = official[("x", "staffspolice")]
    staffs = type("F", (), {"id": account.force_id, "code": "staffs"})()
    wmids = type("F", (), {"id": official[("x", "wmpolice")].force_id, "code": "wmids"})()
    mine = await make_account(session, staffs, platform="tiktok", handle="staffs.police",
                              classification="unofficial")  # fmt: skip
    theirs = await make_account(session, wmids, platform="tiktok", handle="staffs_police",
                                classification="unofficial")  # fmt: skip
    await session.commit()
    url = f"{API}/accounts/{account.id}/lookalikes"
    r = await client.get(url, headers=tokens.headers("comms_admin", force="staffs"))
    assert [i["id"] for i in r.json()["imitated_by"]] == [str(mine.id)]
    # The account's own platform twin is public and resembles it; itself is never listed.
    assert ("x", "staffspolice") not in {
        (m["platform"], m["handle"]) for m in r.json()["resembles"]
    }
    r = await client.get(url, headers=tokens.headers("auditor", force=None))
    assert {i["id"] for i in r.json()["imitated_by"]} == {str(mine.id), str(theirs.id)}


async def test_another_forces_account_is_a_404(client, tokens, official):
    account = official[("x", "wmpolice")]
    r = await client.get(
        f"{API}/accounts/{account.id}/lookalikes", headers=tokens.headers("staff", force="staffs")
    )
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_check_answers_each_link_in_order(client, tokens, official):
    urls = [
        "https://x.com/staffspolice",
        "https://x.com/staffs_police1",
        "https://x.com/bakery_of_leeds",
        "https://x.com/",
        "https://x.com/staffspolicehq",  # registered, unofficial: unknown, not leaked
        "https://x.com/staffspolice",
    ]
    r = await client.post(
        f"{API}/lookalikes/check", json={"urls": urls},
        headers=tokens.headers("comms_admin", force="staffs"),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["status"] for i in items] == [
        "verified", "imitates", "unknown", "invalid", "imitates", "verified",
    ]  # fmt: skip
    assert items[0]["account"]["handle"] == "staffspolice"
    assert items[1]["resembles"][0]["handle"] == "staffspolice"
    assert "error" in items[3]
    assert "account" not in items[4]
    assert "staffspolicehq" not in {m["handle"] for m in items[4]["resembles"]}


async def test_check_takes_at_most_500_links(client, tokens, official):
    headers = tokens.headers("comms_admin", force="staffs")
    many = [f"https://x.com/someone{n}" for n in range(501)]
    r = await client.post(f"{API}/lookalikes/check", json={"urls": many}, headers=headers)
    assert r.status_code == 422
    r = await client.post(f"{API}/lookalikes/check", json={"urls": many[:500]}, headers=headers)
    assert r.status_code == 200
    assert len(r.json()["items"]) == 500
    r = await client.post(f"{API}/lookalikes/check", json={"urls": []}, headers=headers)
    assert r.status_code == 422


async def test_check_is_for_oversight_roles(client, tokens, official):
    body = {"urls": ["https://x.com/staffspolice"]}
    r = await client.post(f"{API}/lookalikes/check", json=body, headers=tokens.headers("staff"))
    assert r.status_code == 403
    r = await client.post(f"{API}/lookalikes/check", json=body)
    assert r.status_code == 401
