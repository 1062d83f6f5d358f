"""Audit log benchmark (PostgreSQL): appends/s with 16 concurrent writers, sequencing
throughput, and inclusion-proof latency at a million events served at c=16.

    python bench/audit.py --db postgresql://postgres@127.0.0.1/test [--events 1000000]

Works in its own database `registry_auditbench` beside the one named (made afresh).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.audit import service as audit  # noqa: E402
from app.auth.tokens import mint_token  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import Database  # noqa: E402
from app.migrate import run_on  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
FILL = """
INSERT INTO audit_events (at, actor_sub, actor_roles, actor_force, force_id, action,
                          entity_type, entity_id, changes, request_id)
SELECT now() - make_interval(secs => :n - g), 'user' || (g % 5000) || '@staffs',
       '["comms_admin"]'::jsonb, 'staffs', NULL, 'account.updated', 'account',
       md5(g::text), jsonb_build_object('display_name', jsonb_build_array('A', 'B' || g)),
       NULL
FROM generate_series(1, :n) AS g
"""


async def _recreate(url: str) -> str:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    engine = create_async_engine(
        Settings(database_url=admin).async_database_url, isolation_level="AUTOCOMMIT"
    )
    async with engine.connect() as conn:
        await conn.execute(sa.text("DROP DATABASE IF EXISTS registry_auditbench WITH (FORCE)"))
        await conn.execute(sa.text("CREATE DATABASE registry_auditbench"))
    await engine.dispose()
    return url.rsplit("/", 1)[0] + "/registry_auditbench"


async def appends(db: Database, writers: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def writer(n: int) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            async with db.session() as s:
                audit.record(s, audit.Actor(f"w{n}", ["admin"], None), "bench.append", "x", n)
                await s.commit()
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(writers)))
    return done / (time.perf_counter() - began)


async def proofs(base: str, token: str, size: int, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
            while time.perf_counter() < stop:
                event_id = random.randint(1, size)
                t = time.perf_counter()
                r = await c.get(
                    "/api/v1/audit/proof/inclusion",
                    params={"event_id": event_id, "tree_size": size},
                )
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def prepare(args: argparse.Namespace) -> tuple[str, Settings, int]:
    url = await _recreate(args.db)
    settings = Settings(database_url=url, jwt_secret=SECRET, log_level="WARNING")
    db = Database(settings)
    async with db.engine.begin() as conn:
        await run_on(conn, "upgrade", "head")
    rate = await appends(db, 16, args.seconds)
    print(f"audit appends, 16 concurrent writers: {rate:,.0f}/s")
    t = time.perf_counter()
    added = await audit.sequence(db, full=True)
    print(f"sequenced {added:,} events in {time.perf_counter() - t:.2f} s")
    n = args.events - added
    t = time.perf_counter()
    async with db.engine.begin() as conn:
        await conn.execute(sa.text(FILL), {"n": n})
    print(f"inserted {n:,} events in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    added = await audit.sequence(db, full=True)
    took = time.perf_counter() - t
    print(f"sequenced {added:,} events in {took:.1f} s ({added / took:,.0f}/s)")
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM ANALYZE"))
    async with db.session(write=False) as s:
        size = await audit.tree_size(s)
    await db.dispose()
    return url, settings, size


async def _size(settings: Settings) -> int:
    db = Database(settings)
    try:
        async with db.session(write=False) as s:
            return await audit.tree_size(s)
    finally:
        await db.dispose()


async def measure(base: str, token: str, size: int, seconds: float) -> None:
    await proofs(base, token, size, 16, 2)  # warm-up
    lat = sorted(await proofs(base, token, size, 16, seconds))
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    print(
        f"inclusion proof at {size:,} events, c=16: {len(lat) / seconds:,.0f} req/s, "
        f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, mean {statistics.mean(lat) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--reuse", action="store_true", help="measure proofs on the last run's database"
    )
    args = parser.parse_args()
    if args.reuse:
        url = args.db.rsplit("/", 1)[0] + "/registry_auditbench"
        settings = Settings(database_url=url, jwt_secret=SECRET, log_level="WARNING")
        size = asyncio.run(_size(settings))
    else:
        url, settings, size = asyncio.run(prepare(args))
    port = 8765
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_JWT_SECRET": SECRET,
           "REGISTRY_LOG_LEVEL": "WARNING"}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port",
         str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = mint_token(settings, sub="bench@national", roles=["admin"], force=None, ttl=3600)
        asyncio.run(measure(base, token, size, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
