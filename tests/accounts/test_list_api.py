"""Accounts over HTTP: lists, filters, flags, pagination, CSV and the statements they cost."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from app import clock
from tests.accounts.common import API, comms
from tests.factories import (
    make_account,
    make_objective,
    make_person,
    make_unit,
    statements_run,
)


async def test_flags_are_computed_and_filterable(client, tokens, session, staffs):
    unofficial = await make_account(session, staffs, classification="unofficial")
    official = await make_account(session, staffs, classification="official")
    r = await client.get(f"{API}/accounts/{unofficial.id}", headers=comms(tokens))
    assert "unsanctioned" in r.json()["flags"]
    r = await client.get(f"{API}/accounts?flag=unsanctioned", headers=comms(tokens))
    assert [a["id"] for a in r.json()["items"]] == [str(unofficial.id)]
    assert "unsanctioned" in r.json()["items"][0]["flags"]
    r = await client.get(f"{API}/accounts/{official.id}", headers=comms(tokens))
    assert "unsanctioned" not in r.json()["flags"]
    r = await client.get(f"{API}/accounts?flag=nonsense", headers=comms(tokens))
    assert r.status_code == 422


# --- lists ---------------------------------------------------------------------------


async def test_list_filters(client, tokens, session, staffs):
    owner = await make_person(session, staffs)
    unit = await make_unit(session, staffs)
    a = await make_account(session, staffs, platform="x", classification="corporate", owner=owner)
    b = await make_account(
        session, staffs, platform="facebook", handle="staffsfbpage", classification="official",
        status="suspended", unit_id=unit.id,
    )  # fmt: skip
    headers = comms(tokens)

    async def ids(query):
        r = await client.get(f"{API}/accounts?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return {item["id"] for item in r.json()["items"]}

    assert await ids("") == {str(a.id), str(b.id)}
    assert await ids("platform=facebook") == {str(b.id)}
    assert await ids("classification=corporate") == {str(a.id)}
    assert await ids("status=suspended") == {str(b.id)}
    assert await ids(f"unit_id={unit.id}") == {str(b.id)}
    assert await ids(f"owner_id={owner.id}") == {str(a.id)}
    r = await client.get(f"{API}/accounts?platform=myspace", headers=headers)
    assert r.status_code == 422


async def test_q_matches_handle_or_name_case_insensitively_with_wildcards_literal(
    client, tokens, session, staffs
):
    plain = await make_account(session, staffs, handle="staffs_dogs", display_name="Dog Unit")
    percent = await make_account(session, staffs, handle="pct1", display_name="100% Safer")
    quote = await make_account(session, staffs, handle="quote1", display_name="O'Brien's beat")
    back = await make_account(session, staffs, handle="back1", display_name="A\\B team")
    await make_account(session, staffs, handle="staffsxdogs", display_name="Other")
    headers = comms(tokens)

    async def ids(q):
        r = await client.get(f"{API}/accounts", params={"q": q}, headers=headers)
        assert r.status_code == 200, r.text
        return {item["id"] for item in r.json()["items"]}

    assert await ids("DOG UNIT") == {str(plain.id)}
    assert await ids("s_d") == {str(plain.id)}  # `_` is not a wildcard
    assert await ids("0%") == {str(percent.id)}
    assert await ids("%") == {str(percent.id)}
    assert await ids("o'brien") == {str(quote.id)}
    assert await ids("a\\b") == {str(back.id)}
    assert await ids("nothing-like-this") == set()


async def test_list_pages_are_stable_and_complete(client, tokens, session, staffs):
    made = {str((await make_account(session, staffs)).id) for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"{API}/accounts", params=params, headers=comms(tokens))
        assert r.status_code == 200
        seen += [item["id"] for item in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7
    assert set(seen) == made
    r = await client.get(f"{API}/accounts?cursor=garbage", headers=comms(tokens))
    assert r.status_code == 422
    r = await client.get(f"{API}/accounts?limit=201", headers=comms(tokens))
    assert r.status_code == 422


async def test_national_callers_narrow_by_force(client, tokens, session, staffs, wmids):
    mine = await make_account(session, staffs)
    theirs = await make_account(session, wmids)
    admin = tokens.headers("admin", force=None)
    r = await client.get(f"{API}/accounts", headers=admin)
    assert {i["id"] for i in r.json()["items"]} == {str(mine.id), str(theirs.id)}
    r = await client.get(f"{API}/accounts?force=wmids", headers=admin)
    assert [i["id"] for i in r.json()["items"]] == [str(theirs.id)]
    assert r.json()["items"][0]["force"] == "wmids"
    r = await client.get(f"{API}/accounts?force=wmids", headers=comms(tokens))
    assert r.status_code == 404


async def test_listing_uses_a_constant_number_of_statements(client, tokens, session, db, staffs):
    people = [await make_person(session, staffs) for _ in range(3)]
    objective = await make_objective(session, staffs)

    async def count_statements() -> int:
        with statements_run(db) as statements:
            r = await client.get(f"{API}/accounts?limit=200", headers=comms(tokens))
        assert r.status_code == 200
        return len(statements)

    await make_account(session, staffs, owner=people[0], editors=tuple(people[1:]))
    await count_statements()  # warms the force cache
    few = await count_statements()
    for n in range(40):
        await make_account(
            session, staffs, owner=people[n % 3], editors=(people[(n + 1) % 3],),
            objectives=(objective,),
        )  # fmt: skip
    assert await count_statements() == few


async def test_get_reads_an_account_in_one_statement(client, tokens, session, db, staffs):
    owner = await make_person(session, staffs)
    editor = await make_person(session, staffs, name="Editor Person")
    objective = await make_objective(session, staffs)
    account = await make_account(
        session, staffs, owner=owner, editors=(owner, editor), objectives=(objective,)
    )
    await client.get(f"{API}/accounts/{account.id}", headers=comms(tokens))  # warm caches
    with statements_run(db) as statements:
        r = await client.get(f"{API}/accounts/{account.id}", headers=comms(tokens))
    assert r.status_code == 200
    # One SELECT with the editors and objectives inside it (its flags' small per-statement
    # tables as a WITH), and no transaction around it on PostgreSQL (SQLite's driver
    # connection always opens one).
    verbs = [s.split()[0].upper() for s in statements]
    assert verbs == (["BEGIN", "WITH"] if db.is_sqlite else ["WITH"])
    body = r.json()
    by_name = sorted([(owner.name, str(owner.id)), (editor.name, str(editor.id))])
    assert [(e["name"], e["id"]) for e in body["editors"]] == by_name
    assert body["objectives"] == [objective.code]


# --- CSV -------------------------------------------------------------------------------


async def test_csv_streams_the_same_rows_with_formula_cells_neutralised(
    client, tokens, session, staffs
):
    owner = await make_person(session, staffs, name="=HYPERLINK(evil)")
    a = await make_account(session, staffs, owner=owner, display_name="+44 line")
    b = await make_account(session, staffs, display_name="@mention")
    c = await make_account(session, staffs, platform="facebook", handle="fbpage1")
    headers = {**comms(tokens), "Accept": "text/csv"}
    r = await client.get(f"{API}/accounts?platform=x", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == [
        "id", "force", "platform", "handle", "url", "display_name", "classification", "status",
        "is_anonymous", "unit_id", "owner_id", "owner_name", "review_due_on", "last_post_at",
        "flags", "legal_hold",
    ]  # fmt: skip
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {str(a.id), str(b.id)}
    assert str(c.id) not in by_id
    assert by_id[str(a.id)]["display_name"] == "'+44 line"
    assert by_id[str(a.id)]["owner_name"] == "'=HYPERLINK(evil)"
    assert by_id[str(a.id)]["owner_id"] == str(owner.id)
    assert by_id[str(b.id)]["display_name"] == "'@mention"
    assert by_id[str(b.id)]["force"] == "staffs"
    assert by_id[str(b.id)]["legal_hold"] == "false"


async def test_csv_pages_through_every_row(client, tokens, session, staffs, monkeypatch):
    from app.accounts import export

    made = {str((await make_account(session, staffs)).id) for _ in range(7)}
    real = export.stream_csv

    def small_batches(db, principal, filters, batch=500):
        return real(db, principal, filters, batch=3)

    monkeypatch.setattr(export, "stream_csv", small_batches)
    from app.accounts import router

    monkeypatch.setattr(router, "stream_csv", small_batches)
    r = await client.get(f"{API}/accounts", headers={**comms(tokens), "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["id"] for row in rows} == made
    assert len(rows) == 7


async def test_flags_follow_the_clock(client, tokens, session, staffs):
    day = datetime(2026, 4, 1, 10, tzinfo=UTC)
    account = await make_account(session, staffs, review_due_on=day.date())
    url = f"{API}/accounts/{account.id}"
    clock.freeze(day)
    assert "review_overdue" not in (await client.get(url, headers=comms(tokens))).json()["flags"]
    r = await client.get(f"{API}/accounts?flag=review_overdue", headers=comms(tokens))
    assert r.json()["items"] == []
    clock.freeze(day + timedelta(days=1))
    assert "review_overdue" in (await client.get(url, headers=comms(tokens))).json()["flags"]
    r = await client.get(f"{API}/accounts?flag=review_overdue", headers=comms(tokens))
    assert [i["id"] for i in r.json()["items"]] == [str(account.id)]
