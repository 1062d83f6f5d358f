"""The worker delivers to a real receiver that verifies every signature with the
`standardwebhooks` library: routing per force and type, retries with backoff on a clock
the test moves, dead letters, redelivery, time-outs, a slow receiver beside a fast one,
two workers sharing the work, and refusal of internal addresses at delivery time."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from app.db import Database
from app.worker.runner import Worker
from tests.factories import make_account, make_force
from tests.webhooks.support import API, deliveries, event_ids, place_hold, subscribe

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def forces(session):
    return await make_force(session, "staffs"), await make_force(session, "wmids")


async def test_events_reach_their_forces_webhook_signed(
    client, tokens, session, db, forces, allow_private, receiver, other_receiver
):
    staffs, wmids = forces
    hook = await subscribe(client, tokens.headers("comms_admin"), receiver.url, ["hold.*"])
    other = await subscribe(
        client, tokens.headers("comms_admin", force="wmids"), other_receiver.url, ["hold.placed"]
    )
    receiver.secret, other_receiver.secret = hook["secret"], other["secret"]
    ours = [await make_account(session, staffs) for _ in range(3)]
    theirs = await make_account(session, wmids)
    for account in ours:
        await place_hold(client, tokens, account)
    await place_hold(client, tokens, theirs, force="wmids")
    # A request event: not subscribed by either.
    r = await client.post(
        f"{API}/requests",
        json={"kind": "decommission", "account_id": str(ours[0].id), "reason": "x",
              "details": {"reason_code": "dormant"}},
        headers=tokens.headers("comms_admin"),
    )  # fmt: skip
    assert r.status_code == 201, r.text

    await Worker(db).run_once()

    assert len(receiver.received) == 3 and all(r.verified for r in receiver.received)
    got = {r.payload["subject"]["account_id"]: r for r in receiver.received}
    assert set(got) == {str(a.id) for a in ours}
    for item in receiver.received:
        assert item.payload["type"] == "hold.placed" and item.payload["force"] == "staffs"
        assert item.headers["webhook-id"] == item.payload["id"]
        assert "PSD/1" not in item.body.decode()
    assert receiver.ids() == [i for i in receiver.ids() if i in await event_ids(session)]
    assert [r.payload["subject"]["account_id"] for r in other_receiver.received] == [str(theirs.id)]
    assert other_receiver.received[0].verified
    # The delivery log, through the API.
    log = await client.get(
        f"{API}/webhooks/{hook['id']}/deliveries", headers=tokens.headers("comms_admin")
    )
    assert log.status_code == 200
    items = log.json()["items"]
    assert len(items) == 3
    assert {i["status"] for i in items} == {"delivered"}
    assert {i["last_status_code"] for i in items} == {200} and items[0]["attempts"] == 1
    assert {i["event_id"] for i in items} == set(receiver.ids())
    # A second run has nothing to send.
    await Worker(db).run_once()
    assert len(receiver.received) == 3


async def test_a_ping_is_signed_and_logged(client, tokens, db, forces, allow_private, receiver):
    admin = tokens.headers("comms_admin")
    hook = await subscribe(client, admin, receiver.url, ["request.approved"])
    receiver.secret = hook["secret"]
    r = await client.post(f"{API}/webhooks/{hook['id']}/ping", headers=admin)
    assert r.status_code == 202 and r.json()["status"] == "pending"
    await Worker(db).run_once()
    assert [(x.payload["type"], x.verified) for x in receiver.received] == [("webhook.ping", True)]
    # After rotation, deliveries are signed with the new secret only.
    r = await client.post(f"{API}/webhooks/{hook['id']}/rotate-secret", headers=admin)
    rotated = r.json()
    await client.post(f"{API}/webhooks/{hook['id']}/ping", headers=admin)
    await Worker(db).run_once()
    assert receiver.received[-1].verified is False
    receiver.secret = rotated["secret"]
    await client.post(f"{API}/webhooks/{hook['id']}/ping", headers=admin)
    await Worker(db).run_once()
    assert receiver.received[-1].verified is True


async def test_failures_back_off_then_dead_letter_and_redelivery_sends_the_same_id(
    client, tokens, session, db, forces, allow_private, receiver, settings, monkeypatch
):
    monkeypatch.setattr(settings, "webhook_retry_base", 10.0)
    clock.freeze(T0)
    admin = tokens.headers("comms_admin")
    hook = await subscribe(client, admin, receiver.url, ["hold.placed"])
    receiver.secret = hook["secret"]
    receiver.status = 500
    await place_hold(client, tokens, await make_account(session, forces[0]))
    worker = Worker(db)
    await worker.run_once()
    [d] = await deliveries(session)
    assert d.status == "pending" and d.attempts == 1 and d.last_status_code == 500
    first_wait = d.next_attempt_at - T0
    assert timedelta(seconds=1) <= first_wait <= timedelta(seconds=10)
    # Not due yet: nothing is sent.
    await worker.run_once()
    assert len(receiver.received) == 1
    # Each retry waits up to twice as long as the one before (with jitter), capped at 2 h.
    now, waits = T0, []
    while True:
        [d] = await deliveries(session)
        if d.status != "pending":
            break
        now = d.next_attempt_at
        clock.freeze(now)
        await worker.run_once()
        [after] = await deliveries(session)
        if after.status == "pending":
            waits.append(after.next_attempt_at - now)
    assert d.status == "dead"
    assert d.last_attempt_at is not None and d.last_attempt_at <= T0 + timedelta(hours=24)
    assert now - T0 <= timedelta(hours=24)
    for n, wait in enumerate(waits, start=2):
        assert wait <= min(timedelta(seconds=10 * 2 ** (n - 1)), timedelta(hours=2))
    assert max(waits) > timedelta(minutes=30)  # it really backed off
    assert d.attempts == len(receiver.received) and 12 <= d.attempts <= 60
    assert len(set(receiver.ids())) == 1 and all(r.verified for r in receiver.received)
    # Dead letters wait for a person; redelivery sends the same event id again.
    clock.freeze(T0 + timedelta(hours=30))
    await worker.run_once()
    assert d.attempts == len(receiver.received)
    url = f"{API}/webhooks/{hook['id']}/deliveries?status=dead"
    log = (await client.get(url, headers=admin)).json()
    assert [i["id"] for i in log["items"]] == [str(d.id)]
    assert log["items"][0]["next_attempt_at"] is None
    receiver.status = 204
    r = await client.post(f"{API}/webhooks/{hook['id']}/deliveries/{d.id}/redeliver", headers=admin)
    assert r.status_code == 202 and r.json()["status"] == "pending", r.text
    await worker.run_once()
    [d] = await deliveries(session)
    assert d.status == "delivered" and d.last_status_code == 204
    assert len(set(receiver.ids())) == 1


async def test_a_delivery_that_takes_too_long_times_out_and_is_retried(
    client, tokens, session, db, forces, allow_private, receiver, settings, monkeypatch
):
    monkeypatch.setattr(settings, "webhook_timeout", 0.5)
    hook = await subscribe(client, tokens.headers("comms_admin"), receiver.url, ["hold.placed"])
    receiver.secret, receiver.delay = hook["secret"], 2.0
    await place_hold(client, tokens, await make_account(session, forces[0]))
    started = time.monotonic()
    await Worker(db).run_once()
    assert time.monotonic() - started < 1.9
    [d] = await deliveries(session)
    assert d.status == "pending" and d.attempts == 1 and "timed out" in (d.last_error or "")


async def test_a_slow_receiver_holds_back_no_other(
    client, tokens, session, db, forces, allow_private, receiver, other_receiver, settings,
    monkeypatch,
):  # fmt: skip
    monkeypatch.setattr(settings, "webhook_timeout", 5.0)
    monkeypatch.setattr(settings, "worker_poll_seconds", 0.05)
    slow = await subscribe(client, tokens.headers("comms_admin"), receiver.url, ["hold.placed"])
    fast = await subscribe(client, tokens.headers("comms_admin"), other_receiver.url, ["hold.*"])
    receiver.secret, receiver.delay = slow["secret"], 3.0
    other_receiver.secret = fast["secret"]
    for _ in range(8):
        await place_hold(client, tokens, await make_account(session, forces[0]))
    stop = asyncio.Event()
    worker = Worker(db)
    task = asyncio.create_task(worker.run(stop))
    started = time.monotonic()
    while len(other_receiver.received) < 8 and time.monotonic() - started < 10:
        await asyncio.sleep(0.05)
    fast_done = time.monotonic() - started
    assert len(other_receiver.received) == 8 and all(r.verified for r in other_receiver.received)
    assert fast_done < 2.5, fast_done  # the slow endpoint's first answers are still pending
    assert len(receiver.received) == 0
    stop.set()
    await task


async def test_two_workers_share_the_work_without_sending_an_event_twice(
    client, tokens, session, db, forces, allow_private, receiver, settings, monkeypatch
):
    monkeypatch.setattr(settings, "webhook_concurrency", 2)
    hook = await subscribe(client, tokens.headers("comms_admin"), receiver.url, ["hold.placed"])
    # Each worker sends at most two at once: three in flight means both are sending.
    receiver.secret, receiver.delay, receiver.gather = hook["secret"], 0.05, 3
    for _ in range(30):
        await place_hold(client, tokens, await make_account(session, forces[0]))
    # Two running workers (a `--once` run ends as soon as it finds nothing it may take,
    # even while the other is still routing), stopped once every event has arrived.
    monkeypatch.setattr(settings, "worker_poll_seconds", 0.1)
    second = Database(settings)
    stop = asyncio.Event()
    one, two = Worker(db), Worker(second)
    try:
        running = [asyncio.create_task(w.run(stop)) for w in (one, two)]
        started = time.monotonic()
        while len(receiver.received) < 30 and time.monotonic() - started < 60:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*running)
    finally:
        await second.dispose()
    ids = receiver.ids()
    assert sorted(ids) == sorted(await event_ids(session, "hold.placed"))
    assert len(ids) == len(set(ids)) == 30
    assert one.delivered + two.delivered == 30
    assert receiver.most_at_once >= 3
    assert one.delivered > 0 and two.delivered > 0, (one.delivered, two.delivered)
    assert all(r.verified for r in receiver.received)


async def test_delivery_time_resolution_refuses_an_internal_address(
    client, tokens, session, db, forces, allow_private, receiver, settings, monkeypatch
):
    name = socket.gethostname()
    port = receiver.url.split(":")[2].split("/")[0]
    hook = await subscribe(
        client, tokens.headers("comms_admin"), f"https://{name}:{port}/hook", ["hold.placed"]
    )
    await place_hold(client, tokens, await make_account(session, forces[0]))
    # The name now resolves (as it did all along) to an internal address: refused at the
    # moment of delivery, before any connection.
    monkeypatch.setattr(settings, "webhook_allow_private_urls", False)
    await Worker(db).run_once()
    [d] = await deliveries(session)
    assert d.status == "pending" and d.attempts == 1
    assert (d.last_error or "").startswith("refused:") and "public addresses only" in d.last_error
    assert receiver.received == []
    assert hook["url"].startswith("https://")
