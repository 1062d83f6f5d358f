"""The worker's scheduled jobs: a registry of periodic functions and the runner that
runs those that are due, one runner at a time across every worker.

Register a job in a module listed in JOB_MODULES:

    @job("flags.evaluate", every=timedelta(days=1))
    async def evaluate(session: AsyncSession, now: datetime) -> None: ...

The job runs in its own transaction, committed when it returns (events it emits commit
with its changes). The job's row in `scheduled_jobs` is locked while it runs (`FOR UPDATE
SKIP LOCKED` on PostgreSQL: a second worker skips it; SQLite runs one worker) and records
the last run. A job that raises is rolled back and tried again after at most 5 minutes.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.db import Database
from app.models import ScheduledJob

log = logging.getLogger("app.worker.jobs")

JobFunction = Callable[[AsyncSession, datetime], Awaitable[None]]
# Modules whose import registers jobs (each capability adds its own).
JOB_MODULES = ["app.outbox.evaluation", "app.mail.schedule"]
RETRY_AFTER_FAILURE = timedelta(minutes=5)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    fn: JobFunction


JOBS: dict[str, Job] = {}


def job(name: str, every: timedelta) -> Callable[[JobFunction], JobFunction]:
    """Register `async def fn(session, now) -> None` to run every `every`."""
    if every <= timedelta(0):
        raise ValueError("a job's period must be positive")

    def register(fn: JobFunction) -> JobFunction:
        if name in JOBS and JOBS[name].fn is not fn:
            raise ValueError(f"a job named {name!r} is registered already")
        JOBS[name] = Job(name, every, fn)
        return fn

    return register


def load() -> dict[str, Job]:
    for module in JOB_MODULES:
        importlib.import_module(module)
    return JOBS


def _insert(dialect: str) -> sa.Insert:
    if dialect == "postgresql":
        return postgresql.insert(ScheduledJob).on_conflict_do_nothing(index_elements=["name"])
    return sqlite.insert(ScheduledJob).on_conflict_do_nothing(index_elements=["name"])


async def _ensure_rows(db: Database, names: list[str]) -> None:
    async with db.session() as session:
        dialect = session.get_bind().dialect.name
        for name in names:
            await session.execute(_insert(dialect).values(name=name, runs=0))
        await session.commit()


def due(row: ScheduledJob, every: timedelta, now: datetime) -> bool:
    return row.last_run_at is None or row.last_run_at + every <= now


async def run_one(db: Database, entry: Job) -> bool:
    """Run `entry` if it is due and no other worker runs it now; whether it ran."""
    async with db.session() as session:
        query = sa.select(ScheduledJob).where(ScheduledJob.name == entry.name)
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        row = await session.scalar(query)
        now = clock.now()
        if row is None or not due(row, entry.every, now):
            return False
        try:
            await entry.fn(session, now)
            row.last_run_at = now
            row.last_finished_at = clock.now()
            row.last_error = None
            row.runs += 1
            await session.commit()
            return True
        except Exception as exc:
            await session.rollback()
            log.exception("scheduled job %s failed", entry.name)
            error = f"{type(exc).__name__}: {exc}"[:2000]
    # Recorded apart from the rolled-back work; tried again after RETRY_AFTER_FAILURE.
    async with db.session() as session:
        retry_from = now - entry.every + min(entry.every, RETRY_AFTER_FAILURE)
        await session.execute(
            sa.update(ScheduledJob)
            .where(ScheduledJob.name == entry.name)
            .values(last_run_at=retry_from, last_error=error, last_finished_at=clock.now())
        )
        await session.commit()
    return False


async def run_due_jobs(db: Database) -> list[str]:
    """Run every registered job that is due; the names of those that ran."""
    jobs = load()
    await _ensure_rows(db, sorted(jobs))
    ran = []
    for name in sorted(jobs):
        if await run_one(db, jobs[name]):
            ran.append(name)
    return ran
