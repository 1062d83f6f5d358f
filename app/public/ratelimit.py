"""A small in-process rate limiter for the public routes, keyed by client address.

Sliding-window counter: the count of the current fixed window plus the previous window's
count weighted by how much of it still overlaps the last `window` seconds. Two dicts of
at most `max_clients` entries each bound the memory; when full, the oldest client entry
is dropped (a flood from that many addresses is beyond what an in-process limiter can
stop anyway). Each API process limits on its own.
"""

from __future__ import annotations

import math

from fastapi import Request

from app import clock
from app.errors import RateLimited


class SlidingWindowLimiter:
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
        index = int(now // self.window)
        self._advance(index)
        elapsed = now / self.window - index  # fraction of the current window gone
        previous = self._previous.get(key, 0)
        current = self._current.get(key, 0)
        if previous * (1 - elapsed) + current + 1 > self.limit:
            return self._retry_after(previous, current, elapsed)
        if current == 0 and len(self._current) >= self.max_clients:
            del self._current[next(iter(self._current))]
        self._current[key] = current + 1
        return None

    def _retry_after(self, previous: int, current: int, elapsed: float) -> int:
        if current + 1 > self.limit or previous == 0:
            wait = (1 - elapsed) * self.window  # only the next window helps
        else:
            needed = 1 - (self.limit - current - 1) / previous
            wait = (needed - elapsed) * self.window
        return max(1, math.ceil(wait - 1e-6))  # float noise must not add a second


def limiter_of(request: Request) -> SlidingWindowLimiter:
    state = request.app.state
    limiter = getattr(state, "public_limiter", None)
    if limiter is None:
        limiter = SlidingWindowLimiter(state.settings.public_rate_limit)
        state.public_limiter = limiter
    return limiter


async def public_rate_limit(request: Request) -> None:
    """Refuse (429, Retry-After) a client address over `REGISTRY_PUBLIC_RATE_LIMIT` a minute."""
    address = request.client.host if request.client else "unknown"
    retry_after = limiter_of(request).hit(address, clock.now().timestamp())
    if retry_after is not None:
        raise RateLimited(retry_after)
