"""Synthetic registry data at scale, for benchmarks: `registry seed --forces N --accounts N`.

Realistic shapes (real force names, units, staff with ids, accounts on every platform in
every state, owners and editors over time, objectives, guidelines and sign-offs, monthly
activity, legal holds, registration requests) from a seeded random generator, so a run is
repeatable for a given day. Rows are written in bulk in chunked transactions (COPY on
PostgreSQL). Entities are generated in time order, so the audit events (one per change)
are chronological; once loaded they are sequenced into the audit Merkle tree, so
`verify_log` holds. Seed into a registry that has none of these forces.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from app import clock
from app.db import Database
from app.models import Force
from app.seed.data import FORCES, handle_for
from app.seed.world import World
from app.seed.writer import BulkWriter, set_aside_indexes

__all__ = ["FORCES", "MAX_ACCOUNTS", "MAX_FORCES", "SeedError", "handle_for", "seed"]

MAX_FORCES, MAX_ACCOUNTS = 100, 1_000_000


class SeedError(ValueError):
    pass


async def seed(
    db: Database,
    *,
    forces: int,
    accounts: int,
    people: int | None = None,
    months: int = 60,
    audit_events: int | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    seed: int = 1,
) -> dict[str, Any]:
    """Generate and write a synthetic registry; returns the row counts written and seconds.

    people defaults to twice the accounts (at least 10 a force); months is the length of
    the history (activity, creation dates); audit_events None writes one event per change,
    a number caps the events at about that many (adding collectors' activity reports up to
    it). Raises SeedError for out-of-range sizes or when one of the forces already exists.
    """
    if not 1 <= forces <= MAX_FORCES:
        raise SeedError(f"forces must be 1 to {MAX_FORCES}")
    if not 0 <= accounts <= MAX_ACCOUNTS:
        raise SeedError(f"accounts must be 0 to {MAX_ACCOUNTS:,}")
    if not 1 <= months <= 240:
        raise SeedError("months must be 1 to 240")
    people = max(10 * forces, 2 * accounts) if people is None else people
    if not 0 <= people <= 5 * MAX_ACCOUNTS or (audit_events is not None and audit_events < 0):
        raise SeedError("people and audit_events must be non-negative (people at most 5,000,000)")
    began = time.perf_counter()
    now = clock.now().replace(microsecond=0)
    seeder = BulkWriter(db, random.Random(seed), now, audit_events)
    world = World(seeder, forces, accounts, people, months, audit_events or 0)
    async with db.session(write=False) as session:
        taken = list(await session.scalars(
            sa.select(Force.code).where(Force.code.in_([f.code for f in world.forces]))
        ))  # fmt: skip
        if not db.is_sqlite:
            is_super = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            seeder.superuser = bool(await session.scalar(sa.text(is_super)))
    if taken:
        raise SeedError(f"these forces already exist: {', '.join(sorted(taken))}")
    rebuild = await set_aside_indexes(db) if seeder.pg else []
    # Millions of long-lived tuples would make every full collection walk them all.
    collecting = gc.isenabled()
    gc.disable()
    try:
        await world.run(progress)
    finally:
        if collecting:
            gc.enable()
        if rebuild:
            if seeder.writing is not None:
                seeder.writing.cancel()
            progress("rebuilding the activity and audit indexes")
            async with db.engine.begin() as conn:
                await conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
                for ddl in rebuild:
                    await conn.execute(sa.text(ddl))
    progress("sequencing the audit events into the Merkle tree")
    from app.audit.service import sequence
    from app.reports.totals import mark_all_stale

    await sequence(db, full=True)
    # The load's new public accounts may be imitated in forces already there.
    await mark_all_stale(db)
    # Fresh statistics, or the planner takes the bulk-loaded tables for nearly empty ones;
    # on PostgreSQL a VACUUM too, setting the visibility map as autovacuum would in time
    # (until then index-only scans still read the heap: the registry after a bulk load
    # would measure slower than the one it stands for).
    progress("analysing the tables")
    if db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(sa.text("ANALYZE"))
    else:
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text("VACUUM ANALYZE"))
    result: dict[str, Any] = dict(seeder.counts)
    result["seconds"] = round(time.perf_counter() - began, 1)
    progress(f"done in {result['seconds']} s")
    return result
