"""No request stalls the server: while the heaviest request allowed runs, a real server
process keeps answering `/healthz` in well under a second.

The heavy work (parsing and validating every row of an import) runs in a worker thread;
on the event loop it held every other request for as long as it took.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from datetime import date, timedelta

import httpx
import pytest
import sqlalchemy as sa

from app.models import Account, ActivityPeriod, AuditEvent
from tests.conftest import serve
from tests.factories import make_force

# The row cap of the server under test, and the size of the file it is sent: the largest
# import it allows. (The default cap, 100,000, only makes the same test slower.)
ROWS = 50_000
ACCOUNTS = 500
SLOW = 1.0  # seconds: what `/healthz` must always beat


@pytest.fixture(scope="module")
def capped_server(settings, db) -> Iterator[str]:
    with serve(settings, REGISTRY_ACTIVITY_IMPORT_MAX_ROWS=str(ROWS)) as base:
        yield base


def _activity_file() -> str:
    periods = ROWS // ACCOUNTS
    lines = [
        "platform,handle,period_start,period_end,original_posts,reposts,replies,followers,"
        "last_post_at\n"
    ]
    for p in range(periods):
        start = date(2020, 1, 1) + timedelta(days=7 * p)
        end = start + timedelta(days=6)
        lines.extend(
            f"x,loop{a},{start},{end},{p % 40},{a % 7},{p % 11},{1000 + a},{end}T12:00:00Z\n"
            for a in range(ACCOUNTS)
        )
    return "".join(lines)


async def _poll_healthz(client: httpx.AsyncClient, done: asyncio.Event) -> list[float]:
    waits = []
    while not done.is_set():
        started = time.perf_counter()
        r = await client.get("/healthz", timeout=30)
        waits.append(time.perf_counter() - started)
        assert r.status_code == 200
        await asyncio.sleep(0.05)
    return waits


async def _while_polling(
    client: httpx.AsyncClient, request: Awaitable[httpx.Response]
) -> tuple[httpx.Response, list[float]]:
    done = asyncio.Event()
    poller = asyncio.create_task(_poll_healthz(client, done))
    try:
        response = await request
    finally:
        done.set()
    return response, await poller


async def test_healthz_stays_under_a_second_during_the_largest_activity_import(
    capped_server, session, tokens
):
    force = await make_force(session)
    await session.execute(
        sa.insert(Account),
        [
            {"force_id": force.id, "platform": "x", "handle": f"loop{a}",
             "classification": "official", "status": "active"}
            for a in range(ACCOUNTS)
        ],
    )  # fmt: skip
    await session.commit()
    body = _activity_file()
    headers = {**tokens.headers("collector"), "Content-Type": "text/csv"}

    async with httpx.AsyncClient(base_url=capped_server) as client:
        imported, waits = await _while_polling(
            client,
            client.post("/api/v1/imports/activity", content=body, headers=headers, timeout=300),
        )
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"rows": ROWS, "created": ROWS, "updated": 0}
    # The polls really overlapped the import, and none of them waited on it.
    assert len(waits) >= 5, waits
    assert max(waits) < SLOW, f"/healthz waited {max(waits):.2f} s ({len(waits)} polls)"
    periods = await session.scalar(sa.select(sa.func.count()).select_from(ActivityPeriod))
    events = await session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "activity.imported")
    )
    await session.commit()
    assert (periods, events) == (ROWS, 1)
