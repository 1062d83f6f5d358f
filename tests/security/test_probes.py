"""Existence probes: a duplicate refusal says only "already registered", refusals that
disclose another force's hidden accounts are limited per caller (429), and each one is
in the audit log for PSD of the prober's force, though the request that met it wrote
nothing else.

Every attack runs over HTTP against an app whose probe limit is small; the limit lives
where the deployment keeps it (PostgreSQL's rate_limit_hits on PostgreSQL, memory on
SQLite), so running the file on both databases covers both stores.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import repository
from app.db import Database
from app.main import create_app
from app.models import Account, AuditEvent, Request
from app.public.ratelimit import RedisLimiter, SlidingWindowLimiter
from tests.factories import make_account, make_force, make_person
from tests.fleet.support import REDIS_URL

API = "/api/v1"
LIMIT = 3
WINDOW = 600
START = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)  # a window boundary (600 s divides it)
ACTION = "account.duplicate_refused"
CSV = {"Content-Type": "text/csv"}
IMPORT_HEADER = "platform,handle,display_name,classification\n"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


@pytest.fixture
async def api(settings, db) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a probe allowance of LIMIT refusals per WINDOW seconds."""
    small = settings.model_copy(
        update={"duplicate_probe_limit": LIMIT, "duplicate_probe_window": WINDOW}
    )
    database = Database(small)
    app = create_app(small, database=database)
    clock.freeze(START)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 4000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        await database.dispose()


@pytest.fixture
async def world(session):
    """staffs probes; wmids holds accounts staffs may not see (unofficial, pending)."""
    staffs = await make_force(session, "staffs")
    wmids = await make_force(session, "wmids")
    hidden = [
        await make_account(
            session,
            wmids,
            platform="x",
            handle=f"covert{n}",
            classification="unofficial",
            status="pending_approval",
        )
        for n in range(12)
    ]
    own = await make_account(session, staffs, platform="x", handle="staffsown")
    return {"staffs": staffs, "wmids": wmids, "hidden": hidden, "own": own}


def comms(tokens, **kw):
    return tokens.headers("comms_admin", force="staffs", **kw)


def body(handle: str, **kw):
    return {"platform": "x", "handle": handle, "display_name": "Probe",
            "classification": "official", **kw}  # fmt: skip


async def create(api, tokens, handle: str, **kw):
    return await api.post(f"{API}/accounts", json=body(handle), headers=comms(tokens, **kw))


async def count(session, model) -> int:
    found = await session.scalar(sa.select(sa.func.count()).select_from(model))
    await session.commit()
    return int(found or 0)


async def refusals(api, tokens, role: str, force: str | None, **params):
    r = await api.get(
        f"{API}/audit",
        params={"action": ACTION, "limit": 200, **params},
        headers=tokens.headers(role, force=force),
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def assert_names_nothing(r, *secrets: str) -> None:
    text = r.text.lower()
    for secret in ("wmids", "unofficial", "pending", *secrets):
        assert secret.lower() not in text, (secret, r.text)


# --- 1. the refusal says "already registered" and nothing more ---------------------------


async def test_another_forces_hidden_account_is_refused_without_naming_it(
    api, tokens, session, world
):
    target = world["hidden"][0]
    r = await create(api, tokens, "covert0")
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    got = r.json()
    assert got["code"] == "duplicate-account"
    assert set(got) == PROBLEM_KEYS
    assert "already registered" in got["detail"]
    assert_names_nothing(r, str(target.id), target.url)


async def test_a_staff_declaration_of_a_hidden_handle_names_nothing(api, tokens, session, world):
    await make_person(session, world["staffs"], subject="staff@staffs")
    r = await api.post(
        f"{API}/accounts",
        json={**body("covert1"), "classification": "unofficial"},
        headers=tokens.headers("staff", force="staffs"),
    )
    assert r.status_code == 409
    assert set(r.json()) == PROBLEM_KEYS
    assert_names_nothing(r, str(world["hidden"][1].id))
    assert await count(session, Request) == 0


async def test_renaming_an_account_onto_a_hidden_handle_names_nothing(api, tokens, session, world):
    own = world["own"]
    r = await api.get(f"{API}/accounts/{own.id}", headers=comms(tokens))
    patch = {"url": "https://x.com/covert2"}
    headers = {**comms(tokens), "If-Match": r.headers["etag"]}
    r = await api.patch(f"{API}/accounts/{own.id}", json=patch, headers=headers)
    assert r.status_code == 409
    assert set(r.json()) == PROBLEM_KEYS
    assert_names_nothing(r, str(world["hidden"][2].id))
    events = await refusals(api, tokens, "admin", None)
    assert [(e["entity_id"], e["changes"]["via"][1]) for e in events] == [("x/covert2", "update")]
    assert events[0]["changes"]["account_id"] == [None, str(own.id)]


async def test_an_import_line_of_a_hidden_handle_names_nothing(api, tokens, session, world):
    csv = IMPORT_HEADER + "x,covert3,Probe,official\n"
    r = await api.post(
        f"{API}/imports/accounts", params={"dry_run": "true"}, content=csv,
        headers={**comms(tokens), **CSV},
    )  # fmt: skip
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"line": 2, "field": "handle", "msg": "x/covert3 is already registered."}
    ]
    assert_names_nothing(r, str(world["hidden"][3].id))


async def test_an_account_the_caller_sees_is_named_and_not_counted(api, tokens, session, world):
    own, other = world["own"], world["hidden"][0]
    for _ in range(LIMIT + 2):
        r = await create(api, tokens, "staffsown")
        assert r.status_code == 409
        assert r.json()["existing_account_id"] == str(own.id)
    # A national admin sees every force: wmids' account is named to them.
    r = await api.post(
        f"{API}/accounts", json={**body("covert0"), "force": "staffs"},
        headers=tokens.headers("admin", force=None),
    )  # fmt: skip
    assert r.status_code == 409
    assert r.json()["existing_account_id"] == str(other.id)
    # None of these disclosed anything: the allowance is whole, nothing was audited.
    for n in range(LIMIT):
        assert (await create(api, tokens, f"covert{n}")).status_code == 409
    assert len(await refusals(api, tokens, "admin", None)) == LIMIT


async def test_a_registration_racing_past_the_check_is_refused_the_same_way(
    api, tokens, session, world, monkeypatch
):
    real = repository.live_duplicate
    calls = []

    async def misses_the_first_time(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            return None  # as if wmids' registration committed just after our check
        return await real(*args, **kwargs)

    monkeypatch.setattr(repository, "live_duplicate", misses_the_first_time)
    r = await create(api, tokens, "covert4")
    assert r.status_code == 409
    assert set(r.json()) == PROBLEM_KEYS
    assert_names_nothing(r, str(world["hidden"][4].id))
    events = await refusals(api, tokens, "admin", None)
    assert [e["entity_id"] for e in events] == ["x/covert4"]


# --- 2. past the allowance, 429 whatever the handle ---------------------------------------


async def test_repeated_probes_are_429_past_the_limit(api, tokens, session, world):
    for n in range(LIMIT):
        assert (await create(api, tokens, f"covert{n}")).status_code == 409
    accounts = await count(session, Account)

    r = await create(api, tokens, f"covert{LIMIT}")
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "too-many-duplicate-refusals"
    assert 1 <= int(r.headers["retry-after"]) <= WINDOW
    assert_names_nothing(r)
    # A free handle gets the same answer: 201 against 429 would tell free from taken.
    free = await create(api, tokens, "nobodyhasthis")
    assert free.status_code == 429
    assert await count(session, Account) == accounts

    # The allowance is the caller's: another comms admin of the force still gets answers.
    other = await create(api, tokens, f"covert{LIMIT}", sub="another@staffs")
    assert other.status_code == 409

    # The window slides: two windows on, the caller is answered again.
    clock.freeze(START + timedelta(seconds=2 * WINDOW))
    assert (await create(api, tokens, "nobodyhasthis")).status_code == 201


async def test_probes_sent_at_once_get_no_more_answers_than_the_limit(api, tokens, session, world):
    answers = await asyncio.gather(*(create(api, tokens, f"covert{n}") for n in range(8)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [409] * LIMIT + [429] * (8 - LIMIT)
    assert len(await refusals(api, tokens, "admin", None)) == LIMIT


async def test_registering_free_handles_does_not_spend_the_allowance(api, tokens, session, world):
    for n in range(LIMIT + 2):
        assert (await create(api, tokens, f"fresh{n}")).status_code == 201
    for n in range(LIMIT):
        assert (await create(api, tokens, f"covert{n}")).status_code == 409
    assert (await create(api, tokens, "freshagain")).status_code == 429


async def test_public_traffic_does_not_reset_the_probe_count(api, tokens, session, world):
    for n in range(LIMIT):
        assert (await create(api, tokens, f"covert{n}")).status_code == 409
    # The public limit counts in its own, shorter windows; passing them sweeps only its own.
    clock.freeze(START + timedelta(seconds=150))
    r = await api.get(f"{API}/public/verify", params={"url": "https://x.com/covert0"})
    assert r.status_code == 200
    clock.freeze(START + timedelta(seconds=300))
    r = await api.get(f"{API}/public/verify", params={"url": "https://x.com/covert0"})
    assert r.status_code == 200
    assert (await create(api, tokens, f"covert{LIMIT}")).status_code == 429


# --- 2b. an import counts every line ------------------------------------------------------


def _file(*handles: str) -> str:
    return IMPORT_HEADER + "".join(f"x,{h},Probe,official\n" for h in handles)


async def dry_run(api, tokens, csv: str, **kw):
    return await api.post(
        f"{API}/imports/accounts", params={"dry_run": "true"}, content=csv,
        headers={**comms(tokens, **kw), **CSV},
    )  # fmt: skip


async def test_a_dry_run_of_many_hidden_handles_is_refused_unanswered(api, tokens, session, world):
    handles = [f"covert{n}" for n in range(12)]
    events_before = await count(session, AuditEvent)
    r = await dry_run(api, tokens, _file(*handles, "nobodyhasthis"))
    assert r.status_code == 429
    got = r.json()
    assert got["code"] == "too-many-duplicate-refusals"
    assert "errors" not in got
    assert int(r.headers["retry-after"]) >= 1
    assert_names_nothing(r, *handles)
    assert await count(session, Account) == 13  # world's own

    # The lines were charged: the caller has no allowance left, even for one handle.
    assert (await dry_run(api, tokens, _file("covert0"))).status_code == 429
    assert (await create(api, tokens, "nobodyhasthis")).status_code == 429

    # One event says how many lines were tried, for PSD of staffs.
    events = await refusals(api, tokens, "psd", "staffs")
    assert [(e["entity_type"], e["changes"]) for e in events] == [
        (
            "import",
            {"tried": [None, 12], "answered": [None, False], "via": [None, "import_dry_run"]},
        )
    ]
    assert await count(session, AuditEvent) == events_before + 1


async def test_a_dry_run_within_the_allowance_is_answered_and_spends_it(
    api, tokens, session, world
):
    r = await dry_run(api, tokens, _file("covert0", "nobodyhasthis", "covert1"))
    assert r.status_code == 422
    assert [e["line"] for e in r.json()["errors"]] == [2, 4]
    assert (await create(api, tokens, "covert2")).status_code == 409  # the last one
    assert (await create(api, tokens, "covert3")).status_code == 429


async def test_a_file_of_the_forces_own_accounts_is_answered_whatever_its_size(
    api, tokens, session, world
):
    staffs = world["staffs"]
    for n in range(LIMIT * 2):
        await make_account(session, staffs, platform="x", handle=f"ours{n}")
    r = await dry_run(api, tokens, _file(*(f"ours{n}" for n in range(LIMIT * 2))))
    assert r.status_code == 422
    assert len(r.json()["errors"]) == LIMIT * 2
    assert await refusals(api, tokens, "admin", None) == []


async def test_a_real_import_counts_its_hidden_lines_too(api, tokens, session, world):
    r = await api.post(
        f"{API}/imports/accounts", content=_file("covert0", "covert1", "covert2", "covert3"),
        headers={**comms(tokens), **CSV},
    )  # fmt: skip
    assert r.status_code == 429
    assert await count(session, Account) == 13  # nothing imported


# --- 3. each refusal is audited, in its own transaction ----------------------------------


async def test_each_refusal_is_in_the_audit_log_for_psd_of_the_probers_force_and_admin(
    api, tokens, session, world
):
    accounts, requests = await count(session, Account), await count(session, Request)
    await make_person(session, world["staffs"], subject="staff@staffs")
    assert (await create(api, tokens, "covert0")).status_code == 409
    staff = tokens.headers("staff", force="staffs")
    declared = {**body("covert1"), "classification": "unofficial"}
    assert (await api.post(f"{API}/accounts", json=declared, headers=staff)).status_code == 409
    assert (await dry_run(api, tokens, _file("covert2"), sub="other@staffs")).status_code == 422

    seen = await refusals(api, tokens, "psd", "staffs")
    assert [
        (e["actor_sub"], e["actor_force"], e["entity_type"], e["entity_id"],
         e["changes"]["via"][1], e["force_id"])
        for e in seen
    ] == [
        ("comms_admin@staffs", "staffs", "handle", "x/covert0", "create", str(world["staffs"].id)),
        ("staff@staffs", "staffs", "handle", "x/covert1", "create", str(world["staffs"].id)),
        ("other@staffs", "staffs", "handle", "x/covert2", "import_dry_run",
         str(world["staffs"].id)),
    ]  # fmt: skip
    assert seen[0]["changes"]["platform"] == [None, "x"]
    assert seen[0]["changes"]["handle"] == [None, "covert0"]
    # Nothing about the account that holds the handle.
    assert all("wmids" not in json.dumps(e) for e in seen)
    assert all(str(a.id) not in json.dumps(seen) for a in world["hidden"])

    assert [e["id"] for e in await refusals(api, tokens, "admin", None)] == [e["id"] for e in seen]
    assert await refusals(api, tokens, "psd", "wmids") == []
    by_handle = await refusals(api, tokens, "psd", "staffs", entity_id="x/covert1")
    assert [e["actor_sub"] for e in by_handle] == ["staff@staffs"]

    # The refused requests wrote nothing else, and the chain still holds.
    assert await count(session, Account) == accounts
    assert await count(session, Request) == requests
    assert await count(session, AuditEvent) == len(seen)
    r = await api.get(f"{API}/audit/verify", headers=tokens.headers("admin", force=None))
    assert r.json()["ok"] is True


async def test_a_caller_past_the_limit_leaves_no_refusal_events(api, tokens, session, world):
    for n in range(LIMIT):
        assert (await create(api, tokens, f"covert{n}")).status_code == 409
    assert (await create(api, tokens, f"covert{LIMIT}")).status_code == 429
    # The refused-unlooked request disclosed nothing, so records nothing.
    events = await refusals(api, tokens, "admin", None)
    assert [e["entity_id"] for e in events] == [f"x/covert{n}" for n in range(LIMIT)]


# --- the stores count and give back --------------------------------------------------------


async def test_the_memory_store_counts_adds_and_gives_back():
    limiter = SlidingWindowLimiter(limit=3, window=60)
    assert await limiter.check("a", 0.0) is None
    assert await limiter.add("a", 0.0, -1) is None  # the reservation goes back
    assert await limiter.add("a", 0.0, -5) is None  # never below zero
    assert await limiter.add("a", 0.0, 3) is None
    assert await limiter.check("a", 1.0) == 59
    assert await limiter.add("a", 1.0, 2) == 59 + 36  # 5 of 3: the next window must fade
    assert await limiter.check("b", 1.0) is None


async def test_the_redis_store_counts_adds_and_gives_back():
    prefix = f"registry-test-{uuid.uuid4().hex[:10]}:"
    limiter = RedisLimiter(REDIS_URL, prefix, limit=3, window=60, name="probes")
    try:
        assert await limiter.check("a", 0.0) is None
        assert await limiter.add("a", 0.0, -1) is None
        assert await limiter.add("a", 0.0, -5) is None
        assert await limiter.add("a", 0.0, 3) is None
        assert await limiter.check("a", 1.0) == 59
        assert await limiter.add("a", 1.0, 2) == 59 + 36
        keys = [k async for k in limiter._client.scan_iter(match=f"{prefix}*")]
        assert keys and all(k.startswith(f"{prefix}ratelimit:probes:".encode()) for k in keys)
        await limiter._client.delete(*keys)
    finally:
        await limiter.close()
