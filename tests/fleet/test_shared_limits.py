"""The public rate limit is one limit for a fleet: in PostgreSQL, or in Redis when set.

These tests run on the PostgreSQL server and the Redis at 127.0.0.1 whatever database the
rest of the suite uses: several processes sharing a limit need a shared store.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.public.ratelimit import DatabaseLimiter, RedisLimiter
from tests.conftest import TEST_SECRET
from tests.fleet.support import REDIS_URL, Server, base_env, free_port, fresh_database, registry

VERIFY = "/api/v1/public/verify?url=https%3A%2F%2Fx.com%2Fsomeone"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"registry-test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def migrated_database() -> Iterator[str]:
    with fresh_database() as url:
        done = registry("db", "upgrade", env=base_env(url))
        assert done.returncode == 0, done.stderr
        yield url


def _clear_of_a_window_boundary(window: float = 60.0, margin: float = 25.0) -> None:
    """Windows follow the wall clock: a burst that crosses into the next window is rightly
    admitted a little more (the sliding count weighs the previous window by its overlap),
    so the burst starts where it has `margin` seconds before the next boundary."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.5)


def _hammer(url: str, count: int) -> list[int]:
    def one(_: int) -> int:
        # A connection per request, so the kernel spreads them over the workers.
        return httpx.get(url, headers={"Connection": "close"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize("store", ["postgresql", "redis"])
def test_the_public_limit_holds_across_four_workers(
    store: str, migrated_database: str, redis_prefix: str, tmp_path: Path
) -> None:
    extra = {"REGISTRY_PUBLIC_RATE_LIMIT": "30"}
    if store == "redis":
        extra |= {"REGISTRY_REDIS_URL": REDIS_URL, "REGISTRY_REDIS_PREFIX": redis_prefix}
    env = base_env(migrated_database, **extra)
    with Server(env, "--workers", "4", log_dir=tmp_path) as server:
        server.wait_ready()
        _clear_of_a_window_boundary()
        statuses = _hammer(server.base + VERIFY, 120)
        lines = server.json_lines()
    # Every process counted against one limit: 30 admitted in all, not 30 per worker.
    assert statuses.count(200) == 30, statuses
    assert statuses.count(429) == 90
    answered_by = {
        line["pid"] for line in lines if line.get("logger") == "app.access" and "status" in line
    }
    assert len(answered_by) >= 2, "the requests did not reach several workers"
    if store == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        assert list(client.scan_iter(match=f"{redis_prefix}ratelimit:*")), "nothing in Redis"
        client.close()


async def test_concurrent_requests_are_admitted_exactly_up_to_the_limit(
    migrated_database: str,
) -> None:
    db = Database(Settings(database_url=migrated_database, jwt_secret=TEST_SECRET))
    try:
        # Two limiters on one database: two processes.
        first, second = DatabaseLimiter(db, limit=10), DatabaseLimiter(db, limit=10)
        key = f"client-{uuid.uuid4().hex[:8]}"
        now = 1_800_000_010.0
        results = await asyncio.gather(
            *(limiter.check(key, now) for limiter in (first, second) for _ in range(25))
        )
        assert results.count(None) == 10
        refused = [r for r in results if r is not None]
        assert len(refused) == 40 and all(1 <= r <= 60 for r in refused)
        # The next window slides: 10 in the previous window at 50 % overlap leave 5.
        later = now + 60 - (now % 60) + 30
        admitted = [await first.check(key, later) for _ in range(8)]
        assert admitted.count(None) == 5
        # Windows before the previous one are swept as windows pass.
        await first.check(key, later + 120)
        rows = await db.fetch_sql(
            "SELECT window_index FROM rate_limit_hits WHERE key = $1", f"public:{key}"
        )
        assert {r["window_index"] for r in rows} == {int((later + 120) // 60)}
    finally:
        await db.dispose()


async def test_redis_counts_atomically_and_expires_its_keys(redis_prefix: str) -> None:
    # Atomicity, not the client time-out, is what is tested: a loaded machine must not
    # send these to the per-process fallback.
    limiter = RedisLimiter(REDIS_URL, redis_prefix, limit=7, timeout=10)
    other = RedisLimiter(REDIS_URL, redis_prefix, limit=7, timeout=10)
    try:
        now = 1_800_000_005.0
        results = await asyncio.gather(
            *(lim.check("198.51.100.9", now) for lim in (limiter, other) for _ in range(20))
        )
        assert results.count(None) == 7
    finally:
        await limiter.close()
        await other.close()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{redis_prefix}*"))
    assert keys and all(0 < client.pttl(k) <= 125_000 for k in keys)
    client.close()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_without_redis_each_process_still_limits_and_says_so_once(
    migrated_database: str,
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = Settings(
        database_url=migrated_database,
        jwt_secret=TEST_SECRET,
        public_rate_limit=3,
        redis_url=dead,
        log_level="WARNING",
    )
    db = Database(settings)
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.44", 1000))
    seen = _Records()
    logging.getLogger("app.ratelimit").addHandler(seen)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            statuses = [(await c.get(VERIFY)).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        assert len(seen.records) == 1 and "Redis unavailable" in seen.records[0].getMessage()
    finally:
        logging.getLogger("app.ratelimit").removeHandler(seen)
        await app.state.public_limiter.close()
        await db.dispose()


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    env = base_env(f"sqlite:///{tmp_path / 'r.db'}")
    done = registry("serve", "--workers", "2", "--port", str(free_port()), env=env)
    assert done.returncode == 2
    assert "SQLite serves one process" in done.stderr
