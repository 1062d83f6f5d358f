"""Sliding-window limits shared by every API process: the public rate limit (keyed by
client address) and the duplicate-probe limit of `app.accounts.probes` (keyed by caller),
each under its own key namespace (`name`).

A sliding-window counter: the count of the current fixed window plus the previous
window's count weighted by how much of it still overlaps the last `window` seconds. A
refused request is not counted, so a client that waits as told gets back in. Where the
counts live decides who shares them:

- `RedisLimiter`, when `REGISTRY_REDIS_URL` is set: one Lua script per request, atomic in
  Redis, shared by every process and host using that Redis (and prefix). If Redis cannot
  be reached the process counts in memory until it can (logged at most once a minute):
  the public keeps a per-process limit instead of losing the service.
- `DatabaseLimiter`, on PostgreSQL otherwise: one statement per request on the UNLOGGED
  `rate_limit_hits` table admits and counts atomically; every process on the database
  shares the limit. Rows of windows before the previous one are deleted as windows pass.
- `SlidingWindowLimiter`, on SQLite (one process; `registry serve` refuses more workers):
  in memory, two dicts of at most `max_clients` entries each; when full, the oldest
  client entry is dropped.

Windows are counted from the wall clock (epoch seconds), so hosts sharing a limit must
keep their clocks in sync (NTP); a skew of a few seconds only blurs a window's edge.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any, Protocol

from fastapi import Request

from app import clock
from app.config import Settings
from app.db import Database
from app.errors import RateLimited

log = logging.getLogger("app.ratelimit")

MAX_KEY = 200  # rate_limit_hits.key


class RateLimiter(Protocol):
    async def check(self, key: str, now: float) -> int | None:
        """Count a request; None if allowed, else the seconds to wait before retrying."""

    async def add(self, key: str, now: float, amount: int) -> int | None:
        """Count `amount` more hits whatever the limit (a negative amount gives hits back,
        never below zero); None if the count is still within the limit, else the seconds
        until one more request would be admitted."""

    async def close(self) -> None: ...


def _window(now: float, window: float) -> tuple[int, float]:
    """The fixed window `now` falls in, and the fraction of it gone."""
    index = int(now // window)
    return index, now / window - index


def retry_after(previous: int, current: int, elapsed: float, limit: int, window: float) -> int:
    """Seconds until a request would be admitted, given the counts that refused it."""
    if current > limit:
        # Counted past the limit (`add`): the next window starts with this one's count as
        # its weighted previous, which must first fade enough to leave room for one.
        wait = (1 - elapsed) * window + max(0.0, 1 - (limit - 1) / current) * window
    elif current + 1 > limit or previous == 0:
        wait = (1 - elapsed) * window  # only the next window helps
    else:
        needed = 1 - (limit - current - 1) / previous
        wait = (needed - elapsed) * window
    return max(1, math.ceil(wait - 1e-6))  # float noise must not add a second


class SlidingWindowLimiter:
    """In memory: the limit of one process."""

    def __init__(self, limit: int, window: float = 60.0, max_clients: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._index = 0
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}

    def _advance(self, index: int) -> None:
        if index == self._index:
            return
        self._previous = self._current if index == self._index + 1 else {}
        self._current = {}
        self._index = index

    def hit(self, key: str, now: float) -> int | None:
        """Count a request; None if allowed, else the seconds to wait before retrying."""
        index, elapsed = _window(now, self.window)
        self._advance(index)
        previous = self._previous.get(key, 0)
        current = self._current.get(key, 0)
        if previous * (1 - elapsed) + current + 1 > self.limit:
            return retry_after(previous, current, elapsed, self.limit, self.window)
        if current == 0 and len(self._current) >= self.max_clients:
            del self._current[next(iter(self._current))]
        self._current[key] = current + 1
        return None

    async def check(self, key: str, now: float) -> int | None:
        return self.hit(key, now)

    async def add(self, key: str, now: float, amount: int) -> int | None:
        index, elapsed = _window(now, self.window)
        self._advance(index)
        previous = self._previous.get(key, 0)
        current = self._current.get(key, 0)
        if current == 0 and key not in self._current and len(self._current) >= self.max_clients:
            del self._current[next(iter(self._current))]
        current = self._current[key] = max(0, current + amount)
        return _over(previous, current, elapsed, self.limit, self.window)

    async def close(self) -> None:
        return None


def _over(previous: int, current: int, elapsed: float, limit: int, window: float) -> int | None:
    """After an `add`: None while the weighted count is within the limit, else the wait."""
    if previous * (1 - elapsed) + current <= limit:
        return None
    return retry_after(previous, current, elapsed, limit, window)


# One statement: read the previous window's count, then insert or increment the current
# window's row only if the weighted sum stays within the limit. ON CONFLICT ... WHERE is
# evaluated against the row's latest version under its row lock, so concurrent requests
# from every process are admitted one at a time and never beyond the limit. The final
# SELECT sees the snapshot from before the insert: `current` is the count that refused.
_HIT = """
WITH arg AS (
    SELECT $1::varchar AS key, $2::bigint AS win, $3::float8 AS weight, $4::int AS lim
), prev AS (
    SELECT COALESCE(
        (SELECT hits FROM rate_limit_hits WHERE key = $1 AND window_index = $2 - 1), 0
    ) AS hits
), admitted AS (
    INSERT INTO rate_limit_hits AS r (key, window_index, hits)
    SELECT arg.key, arg.win, 1 FROM arg, prev WHERE prev.hits * arg.weight + 1 <= arg.lim
    ON CONFLICT (key, window_index) DO UPDATE SET hits = r.hits + 1
        WHERE (SELECT hits FROM prev) * $3::float8 + r.hits + 1 <= $4::int
    RETURNING r.hits
)
SELECT (SELECT hits FROM prev) AS previous,
       (SELECT hits FROM admitted) AS admitted,
       COALESCE(
           (SELECT hits FROM rate_limit_hits WHERE key = $1 AND window_index = $2), 0
       ) AS current
"""
# Counts `amount` more (or fewer, never below zero) in the current window whatever the limit.
_ADD = """
WITH prev AS (
    SELECT COALESCE(
        (SELECT hits FROM rate_limit_hits WHERE key = $1 AND window_index = $2 - 1), 0
    ) AS hits
), counted AS (
    INSERT INTO rate_limit_hits AS r (key, window_index, hits)
    VALUES ($1, $2, GREATEST($3::int, 0))
    ON CONFLICT (key, window_index) DO UPDATE SET hits = GREATEST(r.hits + $3::int, 0)
    RETURNING r.hits
)
SELECT (SELECT hits FROM prev) AS previous, (SELECT hits FROM counted) AS current
"""
# Each limit sweeps only its own namespace: their windows differ in length, so their
# window indexes are not comparable.
_SWEEP = "DELETE FROM rate_limit_hits WHERE left(key, length($2)) = $2 AND window_index < $1"


def _bounded(key: str, name: str | None = None) -> str:
    """The stored key: `name:key`, hashed when too long (the namespace stays readable)."""
    prefix = f"{name}:" if name else ""
    if len(prefix) + len(key) <= MAX_KEY:
        return prefix + key
    return prefix + "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseLimiter:
    """In PostgreSQL: the limit of every process on the database."""

    def __init__(self, db: Database, limit: int, window: float = 60.0, name: str = "public"):
        self.db = db
        self.limit = limit
        self.window = window
        self.name = name
        self._swept: int | None = None

    async def _sweep(self, index: int) -> None:
        if self._swept != index:
            self._swept = index
            await self.db.fetch_sql(_SWEEP, index - 1, f"{self.name}:")

    async def check(self, key: str, now: float) -> int | None:
        index, elapsed = _window(now, self.window)
        await self._sweep(index)
        rows = await self.db.fetch_sql(
            _HIT, _bounded(key, self.name), index, 1.0 - elapsed, self.limit
        )
        row = rows[0]
        if row["admitted"] is not None:
            return None
        return retry_after(row["previous"], row["current"], elapsed, self.limit, self.window)

    async def add(self, key: str, now: float, amount: int) -> int | None:
        index, elapsed = _window(now, self.window)
        await self._sweep(index)
        row = (await self.db.fetch_sql(_ADD, _bounded(key, self.name), index, amount))[0]
        return _over(row["previous"], row["current"], elapsed, self.limit, self.window)

    async def close(self) -> None:
        return None


# KEYS[1] the current window's counter, KEYS[2] the previous one's; ARGV: the previous
# window's weight, the limit, the counter's lifetime in ms. Returns {admitted, prev, cur}.
_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[1]) + current + 1 > tonumber(ARGV[2]) then
    return {0, previous, current}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, previous, current}
"""
# KEYS as above; ARGV: the amount to add (negative gives back, never below zero), the
# counter's lifetime in ms. Returns {prev, cur}.
_LUA_ADD = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])
if current < 0 then
    current = 0
end
redis.call('SET', KEYS[1], current, 'PX', ARGV[2])
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
return {previous, current}
"""
REDIS_TIMEOUT = 0.5  # seconds: a slow Redis must not hold public requests up
FALLBACK_LOG_INTERVAL = 60.0


class RedisLimiter:
    """In Redis: the limit of every process and host on that Redis and prefix."""

    def __init__(
        self,
        url: str,
        prefix: str,
        limit: int,
        window: float = 60.0,
        name: str = "public",
        timeout: float = REDIS_TIMEOUT,
    ) -> None:
        import redis.asyncio as redis

        self.limit = limit
        self.window = window
        self.name = name
        self.prefix = f"{prefix}ratelimit:{name}:"
        self._lifetime_ms = int(window * 2000) + 5000
        self._client: Any = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
        self._script = self._client.register_script(_LUA)
        self._add_script = self._client.register_script(_LUA_ADD)
        self._fallback = SlidingWindowLimiter(limit, window)
        self._logged_at = -math.inf

    def _keys(self, key: str, index: int) -> list[str]:
        # The {key} hash tag keeps both windows' counters on one Redis Cluster slot.
        base = f"{self.prefix}{{{_bounded(key)}}}:"
        return [f"{base}{index}", f"{base}{index - 1}"]

    def _unavailable(self, exc: Exception) -> None:
        if time.monotonic() - self._logged_at >= FALLBACK_LOG_INTERVAL:
            self._logged_at = time.monotonic()
            log.warning(
                "Redis unavailable (%s): this process counts the %s limit on its own "
                "until it is back",
                type(exc).__name__,
                self.name,
            )

    async def check(self, key: str, now: float) -> int | None:
        from redis.exceptions import RedisError

        index, elapsed = _window(now, self.window)
        try:
            admitted, previous, current = await self._script(
                keys=self._keys(key, index),
                args=[repr(1.0 - elapsed), self.limit, self._lifetime_ms],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            self._unavailable(exc)
            return self._fallback.hit(key, now)
        if admitted:
            return None
        return retry_after(int(previous), int(current), elapsed, self.limit, self.window)

    async def add(self, key: str, now: float, amount: int) -> int | None:
        from redis.exceptions import RedisError

        index, elapsed = _window(now, self.window)
        try:
            previous, current = await self._add_script(
                keys=self._keys(key, index), args=[amount, self._lifetime_ms]
            )
        except (RedisError, OSError, TimeoutError) as exc:
            self._unavailable(exc)
            return await self._fallback.add(key, now, amount)
        return _over(int(previous), int(current), elapsed, self.limit, self.window)

    async def close(self) -> None:
        await self._client.aclose()


def shared_limiter(
    settings: Settings, db: Database, limit: int, window: float, name: str
) -> RateLimiter:
    """A limit every API process shares, in the store the deployment has (see above)."""
    if settings.redis_url:
        return RedisLimiter(settings.redis_url, settings.redis_prefix, limit, window, name)
    if not db.is_sqlite:
        return DatabaseLimiter(db, limit, window, name)
    return SlidingWindowLimiter(limit, window)


def make_limiter(request: Request) -> RateLimiter:
    settings = request.app.state.settings
    db: Database = request.app.state.db
    return shared_limiter(settings, db, settings.public_rate_limit, 60.0, "public")


def limiter_of(request: Request) -> RateLimiter:
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "public_limiter", None)
    if limiter is None:
        limiter = state.public_limiter = make_limiter(request)
    return limiter


async def public_rate_limit(request: Request) -> None:
    """Refuse (429, Retry-After) a client address over `REGISTRY_PUBLIC_RATE_LIMIT` a minute."""
    address = request.client.host if request.client else "unknown"
    retry = await limiter_of(request).check(address, clock.now().timestamp())
    if retry is not None:
        raise RateLimited(retry)
