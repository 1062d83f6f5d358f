"""A worker killed (SIGKILL) in the middle of deliveries loses nothing: after a restart
every event arrives, with the ids it had (duplicates allowed: at least once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT
from tests.factories import make_account, make_force
from tests.webhooks.support import event_ids, place_hold, subscribe


def _start_worker(settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": settings.database_url,
        "REGISTRY_LOG_LEVEL": "WARNING",
        "REGISTRY_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "REGISTRY_WEBHOOK_TIMEOUT": "1",  # a claim's lease: this + 5 s
        "REGISTRY_WEBHOOK_CONCURRENCY": "2",
        "REGISTRY_WORKER_POLL_SECONDS": "0.1",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import app; app()", "worker"], cwd=ROOT, env=env
    )


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


async def test_a_killed_worker_loses_no_event(
    client, tokens, session, settings, allow_private, receiver
):
    force = await make_force(session, "staffs")
    hook = await subscribe(client, tokens.headers("comms_admin"), receiver.url, ["hold.placed"])
    receiver.secret, receiver.delay = hook["secret"], 0.15
    for _ in range(20):
        await place_hold(client, tokens, await make_account(session, force))
    wanted = await event_ids(session, "hold.placed")
    assert len(wanted) == 20

    worker = _start_worker(settings)
    try:
        assert _wait(lambda: len(receiver.received) >= 6, 60), "the worker never delivered"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    before = set(receiver.ids())
    assert 0 < len(before) < 20, "killed in the middle of the deliveries"

    restarted = _start_worker(settings)
    try:
        assert _wait(lambda: set(receiver.ids()) >= wanted, 60), (
            f"missing {len(wanted - set(receiver.ids()))} events after the restart"
        )
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=20) == 0
    finally:
        if restarted.poll() is None:
            restarted.kill()
    assert set(receiver.ids()) == wanted  # nothing else, nothing missing
    assert all(r.verified for r in receiver.received)
    assert all(r.payload["id"] == r.headers["webhook-id"] for r in receiver.received)
