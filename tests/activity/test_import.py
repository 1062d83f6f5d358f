from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from app import clock
from app.models import Account, ActivityPeriod, AuditEvent
from tests.factories import make_account, make_force

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
URL = "/api/v1/imports/activity"
HEADER = (
    "platform,handle,period_start,period_end,original_posts,reposts,replies,followers,"
    "last_post_at\n"
)
CSV = {"Content-Type": "text/csv"}


async def scalar(session, query):
    value = await session.scalar(query)
    await session.commit()  # the test session begins IMMEDIATE on SQLite: release the lock
    return value


async def count(session, model) -> int:
    return await scalar(session, sa.select(sa.func.count()).select_from(model))


async def post(client, tokens, text: str | bytes, role="collector", force="staffs", **headers):
    return await client.post(
        URL, content=text, headers={**tokens.headers(role, force=force), **CSV, **headers}
    )


async def test_import_upserts_every_row_keyed_by_platform_and_handle(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    dogs = await make_account(session, force, handle="staffspoldogs")
    await make_account(session, force, platform="facebook", handle="staffs.police")
    text = HEADER + (
        "x,@StaffsPolDogs,2026-05-01,2026-05-31,10,2,3,900,2026-05-31T10:00:00Z\n"
        "twitter,staffspoldogs,2026-04-01,2026-04-30,8,1,1,880,\n"
        "facebook,staffs.police,2026-05-01,2026-05-31,4,0,9,12000,2026-05-20T08:00:00+01:00\n"
    )
    r = await post(client, tokens, text)
    assert r.status_code == 201, r.text
    assert r.json() == {"rows": 3, "created": 3, "updated": 0}
    assert await count(session, ActivityPeriod) == 3
    last = await scalar(session, sa.select(Account.last_post_at).where(Account.id == dogs.id))
    assert last == datetime(2026, 5, 31, 10, tzinfo=UTC)
    again = HEADER + "x,staffspoldogs,2026-05-01,2026-05-31,11,2,3,901,\n"
    r = await post(client, tokens, again)
    assert r.status_code == 200
    assert r.json() == {"rows": 1, "created": 0, "updated": 1}
    assert await count(session, ActivityPeriod) == 3
    posts = await session.scalar(
        sa.select(ActivityPeriod.original_posts).where(
            ActivityPeriod.account_id == dogs.id,
            ActivityPeriod.period_start == T.replace(month=5, day=1).date(),
        )
    )
    assert posts == 11
    imported = (
        await session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "activity.imported")
            .order_by(AuditEvent.id)
        )
    ).all()
    assert [e.changes for e in imported] == [
        {"created": [None, 3], "updated": [None, 0]},
        {"created": [None, 0], "updated": [None, 1]},
    ]


async def test_one_bad_row_rejects_the_whole_file_with_every_error_by_line(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    other = await make_force(session, "wmids")
    await make_account(session, force, handle="good")
    await make_account(session, other, handle="theirs")
    text = HEADER + (
        "x,good,2026-05-01,2026-05-31,1,1,1,1,\n"  # line 2: fine
        "x,good,2026-05-01,2026-05-31,-1,1,1,1,\n"  # line 3: negative, and a duplicate period
        "x,unknown,2026-05-01,2026-05-31,1,1,1,1,\n"  # line 4: no such account
        "x,theirs,2026-05-01,2026-05-31,1,1,1,1,\n"  # line 5: another force's
        "x,good,2026-06-01,2026-05-31,1,1,1,1,\n"  # line 6: period reversed
        "x,good,2026-06-01,2026-06-14,1,1,1,1,2026-06-16T00:00:00Z\n"  # line 7: future
        "x,good,2026-07-01,2026-07-31,1,1,1\n"  # line 8: short row
        "myspace,good,2026-08-01,2026-08-31,1,1,1,1,\n"  # line 9: platform
        "x,good,2026-09-01,2026-09-30,many,1,1,1,\n"  # line 10: not a number
    )
    r = await post(client, tokens, text)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    errors = {(e["line"], e["field"]) for e in problem["errors"]}
    assert errors == {
        (3, "original_posts"),
        (4, "handle"),
        (5, "handle"),
        (6, "period_end"),
        (7, "last_post_at"),
        (8, None),
        (9, "platform"),
        (10, "original_posts"),
    }
    assert all(e["msg"] for e in problem["errors"])
    assert await count(session, ActivityPeriod) == 0


async def test_duplicate_periods_in_one_file_are_reported(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    await make_account(session, force, handle="good")
    text = HEADER + (
        "x,good,2026-05-01,2026-05-31,1,1,1,1,\nx,@Good,2026-05-01,2026-05-31,2,1,1,1,\n"
    )
    r = await post(client, tokens, text)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"line": 3, "field": "period_start", "msg": "the same period as line 2"}
    ]


async def test_header_problems_are_line_one(client, tokens, session):
    await make_force(session)
    r = await post(client, tokens, "platform,handle,period_start,colour\n")
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert all(e["line"] == 1 for e in r.json()["errors"])
    assert {"colour", "period_end", "followers"} <= fields
    r = await post(client, tokens, "")
    assert r.status_code == 422


async def test_a_file_that_is_not_utf8_is_refused(client, tokens, session):
    await make_force(session)
    raw = (HEADER + "x,caf\xe9,2026-05-01,2026-05-31,1,1,1,1,\n").encode("latin-1")
    r = await post(client, tokens, raw)
    assert r.status_code == 422
    assert r.json()["code"] == "bad-encoding"
    assert r.json()["errors"][0]["line"] == 2


async def test_the_body_must_be_csv(client, tokens, session):
    await make_force(session)
    r = await client.post(URL, json={"rows": []}, headers=tokens.headers("collector"))
    assert r.status_code == 415


async def test_national_admin_imports_for_any_force(client, tokens, session):
    clock.freeze(T)
    await make_force(session)
    other = await make_force(session, "wmids")
    await make_account(session, other, handle="theirs")
    text = HEADER + "x,theirs,2026-05-01,2026-05-31,1,1,1,1,\n"
    r = await post(client, tokens, text, role="admin", force=None)
    assert r.status_code == 201, r.text
    event = await session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "activity.imported")
    )
    assert event.force_id == other.id


async def test_import_roles(client, tokens, session):
    await make_force(session)
    r = await client.post(URL, content=HEADER, headers=CSV)
    assert r.status_code == 401
    for role in ("staff", "psd"):
        assert (await post(client, tokens, HEADER, role=role)).status_code == 403
    r = await post(client, tokens, HEADER, role="auditor", force=None)
    assert r.status_code == 403
    r = await post(client, tokens, HEADER)
    assert r.status_code == 200
    assert r.json() == {"rows": 0, "created": 0, "updated": 0}


async def test_a_large_import_runs_in_bulk(client, tokens, session):
    clock.freeze(T)
    force = await make_force(session)
    accounts = [
        {
            "force_id": force.id,
            "platform": "x",
            "handle": f"bulk{n}",
            "classification": "official",
            "status": "active",
        }
        for n in range(200)
    ]
    await session.execute(sa.insert(Account), accounts)
    await session.commit()
    lines = [
        f"x,bulk{n},2026-{m:02d}-01,2026-{m:02d}-28,{m},1,1,{n},2026-{m:02d}-28T12:00:00Z"
        for n in range(200)
        for m in range(1, 6)
    ]
    r = await post(client, tokens, HEADER + "\n".join(lines) + "\n")
    assert r.status_code == 201, r.text
    assert r.json() == {"rows": 1000, "created": 1000, "updated": 0}
    latest = await session.scalar(
        sa.select(sa.func.count()).where(
            Account.last_post_at == datetime(2026, 5, 28, 12, tzinfo=UTC)
        )
    )
    assert latest == 200


def _cap(monkeypatch, app, rows: int) -> None:
    capped = app.state.settings.model_copy(update={"activity_import_max_rows": rows})
    monkeypatch.setitem(app.state._state, "settings", capped)


def _months(n: int) -> str:
    return HEADER + "".join(
        f"x,staffspoldogs,2025-{m:02d}-01,2025-{m:02d}-28,{m},1,1,900,\n" for m in range(1, n + 1)
    )


async def test_a_file_of_exactly_the_row_cap_is_imported(client, tokens, session, app, monkeypatch):
    clock.freeze(T)
    force = await make_force(session)
    await make_account(session, force, handle="staffspoldogs")
    _cap(monkeypatch, app, 4)
    r = await post(client, tokens, _months(4) + ",,,,,,,,\n")
    assert r.status_code == 201, r.text
    assert r.json() == {"rows": 4, "created": 4, "updated": 0}
    assert await count(session, ActivityPeriod) == 4


async def test_a_row_past_the_cap_is_413_too_many_rows_and_nothing_is_written(
    client, tokens, session, app, monkeypatch
):
    clock.freeze(T)
    force = await make_force(session)
    dogs = await make_account(session, force, handle="staffspoldogs")
    events = await count(session, AuditEvent)
    _cap(monkeypatch, app, 4)
    r = await post(client, tokens, _months(5))
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["code"], body["max_rows"]) == ("too-many-rows", 4)
    assert "4" in body["detail"]
    assert await count(session, ActivityPeriod) == 0
    assert await count(session, AuditEvent) == events
    version = await scalar(session, sa.select(Account.version).where(Account.id == dogs.id))
    assert version == dogs.version


async def test_an_activity_body_over_20_mib_is_413_payload_too_large(client, tokens, session):
    clock.freeze(T)
    await make_force(session)

    async def chunks():
        yield HEADER.encode()
        for _ in range(21 * 16):
            yield b"x" * 65535 + b"\n"

    r = await post(client, tokens, chunks())
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "payload-too-large"
    assert await count(session, ActivityPeriod) == 0
