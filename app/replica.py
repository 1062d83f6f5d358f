"""A read replica (REGISTRY_READ_DATABASE_URL): which reads go there, and when they do not.

Reads that need no transaction of a write — GET routes: lists, look-ups, reports, the
public directory and verification — run on the replica. Writes, and every read inside a
write's transaction, run on the primary. Three things send a read back to the primary:

- *The replica is behind.* Each process asks the replica how far its replay lags
  (`now() - pg_last_xact_replay_timestamp()` while WAL received is not yet applied) once
  a second; past REGISTRY_READ_MAX_LAG seconds reads go to the primary until it catches up.
- *The replica is away.* If that question fails or takes over a second, reads go to the
  primary, and /readyz says so, until it answers again.
- *The caller has just written.* A caller (force and subject of the token) whose write
  committed less than REGISTRY_READ_YOUR_WRITES seconds ago reads from the primary, so
  they always see what they wrote. Recent writers are remembered in the process and, with
  REGISTRY_REDIS_URL, in Redis, so the rule holds whichever process answers next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("app.replica")

# Set per request: this request's reads must see the primary (the caller just wrote).
primary_reads_var: ContextVar[bool] = ContextVar("primary_reads", default=False)
# The caller of this request, for remembering who wrote.
caller_var: ContextVar[str | None] = ContextVar("caller", default=None)

_LAG = sa.text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)
CHECK_EVERY = 1.0
CHECK_TIMEOUT = 1.0


class ReplicaState:
    """What this process last learnt of the replica: reachable, and how far behind."""

    def __init__(self, engine: AsyncEngine, max_lag: float) -> None:
        self.engine = engine
        self.max_lag = max_lag
        self.reachable = False
        self.lag: float | None = None
        self.checked_at = -1e18
        self._task: asyncio.Task[None] | None = None

    @property
    def usable(self) -> bool:
        self._ensure_running()
        return self.reachable and self.lag is not None and self.lag <= self.max_lag

    def describe(self) -> dict[str, Any]:
        self._ensure_running()
        if not self.reachable:
            return {"status": "unavailable", "reads": "primary"}
        lag = round(self.lag or 0.0, 3)
        return {"status": "ok" if self.usable else "lagging", "lag_seconds": lag,
                "reads": "replica" if self.usable else "primary"}  # fmt: skip

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._watch())
            except RuntimeError:  # no loop (a synchronous caller): nothing to watch from
                return

    async def check(self) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT), self.engine.connect() as conn:
                lag = float((await conn.execute(_LAG)).scalar() or 0.0)
        except Exception as exc:  # any failure: the replica is away until it answers
            if self.reachable or self.checked_at < 0:
                log.warning("read replica unavailable: %s; reading from the primary",
                            type(exc).__name__)  # fmt: skip
            self.reachable, self.lag = False, None
        else:
            if not self.reachable:
                log.info("read replica reachable", extra={"lag_seconds": round(lag, 3)})
            self.reachable, self.lag = True, lag
        self.checked_at = time.monotonic()

    async def _watch(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(CHECK_EVERY)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None


class RecentWriters:
    """Callers who wrote in the last `seconds`: in this process, and in Redis when set."""

    def __init__(self, seconds: float, redis_url: str | None, prefix: str) -> None:
        self.seconds = seconds
        self._local: dict[str, float] = {}
        self._prefix = f"{prefix}wrote:"
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.Redis.from_url(
                redis_url, socket_timeout=0.25, socket_connect_timeout=0.25
            )

    async def note(self, caller: str) -> None:
        now = time.monotonic()
        if len(self._local) > 50_000:
            self._local = {k: v for k, v in self._local.items() if v > now}
        self._local[caller] = now + self.seconds
        if self._redis is not None:
            try:
                await self._redis.set(self._prefix + caller, b"1", px=int(self.seconds * 1000))
            except Exception:  # Redis away: this process still remembers
                log.warning("recent writer not shared: Redis unavailable")

    async def wrote_recently(self, caller: str) -> bool:
        until = self._local.get(caller)
        if until is not None and until > time.monotonic():
            return True
        if self._redis is not None:
            try:
                return bool(await self._redis.exists(self._prefix + caller))
            except Exception:
                # Unknown: the primary is always right.
                return True
        return False

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
