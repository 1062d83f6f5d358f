"""`registry worker`: routes outbox events to webhooks, delivers them, runs due jobs.

Each look (every `worker_poll_seconds`) routes new events, claims what is due as far as
each endpoint's concurrency allows, and starts those deliveries as tasks: a slow receiver
occupies only its own slots, never the loop, so other endpoints keep flowing. Due jobs
run as one task of their own. On PostgreSQL any number of workers share the work; on
SQLite run one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter

import httpx

from app.db import Database
from app.outbox import delivery
from app.worker.jobs import run_due_jobs

log = logging.getLogger("app.worker")


class Worker:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings = db.settings
        self.in_flight: Counter[uuid.UUID] = Counter()
        self.tasks: set[asyncio.Task[None]] = set()
        self.delivered = 0
        self.attempted = 0
        self._jobs: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=self.settings.webhook_max_in_flight)
            self._client = httpx.AsyncClient(follow_redirects=False, limits=limits)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _room(self) -> tuple[dict[uuid.UUID, int], int]:
        per = self.settings.webhook_concurrency
        room = {hook: per - n for hook, n in self.in_flight.items()}
        return room, self.settings.webhook_max_in_flight - len(self.tasks)

    async def _deliver(self, attempt: delivery.Attempt) -> None:
        try:
            outcome = await delivery.send(self.client, self.settings, attempt)
            status = await delivery.record(self.db, attempt, outcome)
            self.attempted += 1
            if status == "delivered":
                self.delivered += 1
            elif status == "dead":
                log.warning("delivery %s dead-lettered: %s", attempt.delivery_id, outcome.error)
        except Exception:  # the lease makes it due again; the loop must go on
            log.exception("delivery %s failed", attempt.delivery_id)
        finally:
            self.in_flight[attempt.webhook_id] -= 1
            if self.in_flight[attempt.webhook_id] <= 0:
                del self.in_flight[attempt.webhook_id]

    async def start_due(self) -> int:
        """Claim and start what is due; how many were started."""
        room, total = self._room()
        attempts = await delivery.claim(self.db, room, total)
        for attempt in attempts:
            self.in_flight[attempt.webhook_id] += 1
            task = asyncio.create_task(self._deliver(attempt))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return len(attempts)

    async def route_all(self) -> int:
        routed = total = await delivery.route(self.db)
        while routed:
            routed = await delivery.route(self.db)
            total += routed
        return total

    async def run_jobs(self) -> list[str]:
        return await run_due_jobs(self.db)

    async def run_once(self) -> None:
        """Run due jobs, then deliver everything due until nothing is left due (failures
        are rescheduled for later), then return: for cron and tests."""
        await self.run_jobs()
        while True:
            await self.route_all()
            started = await self.start_due()
            if not started and not self.tasks:
                break
            if self.tasks:
                await asyncio.wait(set(self.tasks), return_when=asyncio.FIRST_COMPLETED)

    def _jobs_running(self) -> bool:
        return self._jobs is not None and not self._jobs.done()

    async def _jobs_task(self) -> None:
        try:
            await self.run_jobs()
        except Exception:
            log.exception("scheduled jobs failed")

    async def tick(self) -> None:
        if not self._jobs_running():
            self._jobs = asyncio.create_task(self._jobs_task())
        await self.route_all()
        await self.start_due()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; then let in-flight deliveries finish (within their
        time-out) and return."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:  # the database away for a moment: try again next look
                    log.exception("worker look failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.worker_poll_seconds)
        finally:
            pending = [t for t in (*self.tasks, self._jobs) if t is not None]
            if pending:
                await asyncio.wait(pending, timeout=self.settings.webhook_timeout + 1)
            await self.close()


async def run_worker(db: Database, once: bool) -> None:
    """The `registry worker` command's body (signals stop the loop)."""
    import signal

    worker = Worker(db)
    if once:
        try:
            await worker.run_once()
        finally:
            await worker.close()
        return
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started")
    await worker.run(stop)
