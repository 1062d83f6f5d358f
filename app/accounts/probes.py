"""Duplicate refusals as existence probes: counted per caller, limited, and audited.

Handles are unique across forces, so refusing a duplicate tells the caller that a handle
is registered somewhere, even when the account holding it is one they may not see
(another force's unofficial or pending account, which `/public/verify` hides). The
refusal says no more than "already registered"; a refusal that discloses such a hidden
account is a probe, and

- counts against the caller (`caller_key`) in a sliding window shared by every API
  process (`REGISTRY_DUPLICATE_PROBE_LIMIT` per `REGISTRY_DUPLICATE_PROBE_WINDOW`
  seconds, the public limit's machinery under the `probes` namespace);
- once the allowance is spent, every request that would answer "free" or "taken" for a
  handle is refused with 429 before looking, so the answer cannot leak through the
  difference between 201 and 429; an import counts each such line and is refused whole
  (charged, unanswered) when it holds more than the allowance left;
- is written to the audit log (`account.duplicate_refused`, entity `handle`,
  `platform/handle`, in the prober's force) in a transaction of its own after the
  request's has rolled back, so PSD sees who probed what.

A refusal of a handle whose account the caller can see discloses nothing and is neither
counted nor audited. Callers outside the API (the CLI's system actor) are not limited.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit import service as audit
from app.audit.service import Actor
from app.auth.principal import Principal
from app.db import Database, after_transaction, database_of
from app.errors import AppError
from app.public.ratelimit import RateLimiter, shared_limiter
from app.schemas import errors

ACTION = "account.duplicate_refused"
ENTITY = "handle"
IMPORT_ENTITY = "import"  # an import refused unanswered: one event

_limiters: weakref.WeakKeyDictionary[Database, RateLimiter] = weakref.WeakKeyDictionary()


class TooManyDuplicateRefusals(AppError):
    code = "too-many-duplicate-refusals"
    status = 429
    title = "Too many duplicate refusals"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        default = f"Too many handles you tried were registered; retry after {retry_after} s."
        super().__init__(detail or default)
        self.headers["Retry-After"] = str(retry_after)


def _documented(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    return {status: {**errors(status)[status], "description": description}}


# The OpenAPI entries of every route that may refuse a duplicate.
RESPONSES: dict[int | str, dict[str, Any]] = _documented(
    409,
    "`duplicate-account`: the handle is already registered (a live record in some force). "
    "Nothing more is said unless you may see that account, which is then named by "
    "`existing_account_id`.",
) | _documented(
    429,
    "`too-many-duplicate-refusals`: more handles you tried were registered to accounts "
    "outside your view than `REGISTRY_DUPLICATE_PROBE_LIMIT` (default 20) in "
    "`REGISTRY_DUPLICATE_PROBE_WINDOW` seconds (default 3600); every such refusal, and every "
    "import line, counts. See Retry-After.",
)


def _limiter(db: Database) -> RateLimiter:
    limiter = _limiters.get(db)
    if limiter is None:
        settings = db.settings
        limiter = _limiters[db] = shared_limiter(
            settings,
            db,
            settings.duplicate_probe_limit,
            float(settings.duplicate_probe_window),
            "probes",
        )
    return limiter


async def close(db: Database) -> None:
    """Release the probe limit's store connection (Redis) of a database being disposed."""
    limiter = _limiters.pop(db, None)
    if limiter is not None:
        await limiter.close()


@dataclass
class Allowance:
    """Refusals taken from the caller's allowance; `refused` trues the count up."""

    limiter: RateLimiter | None
    caller: Principal | Actor
    key: str = ""
    now: float = 0.0
    held: int = 0


async def reserve(session: AsyncSession, caller: Principal | Actor) -> Allowance:
    """Before looking a handle up: take one refusal from the caller's allowance, or 429
    when none is left (whether the handle turns out free or taken)."""
    db = database_of(session)
    if db is None or not isinstance(caller, Principal):
        return Allowance(None, caller)
    limiter = _limiter(db)
    now = clock.now().timestamp()
    retry = await limiter.check(caller.caller_key, now)
    if retry is not None:
        raise TooManyDuplicateRefusals(retry)
    return Allowance(limiter, caller, caller.caller_key, now, held=1)


async def refused(
    session: AsyncSession,
    allowance: Allowance,
    tried: Sequence[tuple[str, str]],
    via: str,
    **context: Any,
) -> None:
    """The probes (platform, handle) an answer is about to disclose (none: the handles
    were free). The count is trued up against what was reserved — the unused
    reservation goes back — and each probe audited; past the limit, 429 instead, with
    one audit event saying how many were tried."""
    extra = len(tried) - allowance.held
    allowance.held = len(tried)
    retry = None
    if allowance.limiter is not None and extra:
        retry = await allowance.limiter.add(allowance.key, allowance.now, extra)
    fields = {k: [None, v] for k, v in context.items() if v is not None}
    events = [
        (ENTITY, f"{p}/{h}", {"platform": [None, p], "handle": [None, h], **fields})
        for p, h in tried
    ]
    if extra > 0 and retry is not None:
        unanswered = {"answered": [None, False]}
        if len(events) == 1:
            _record(session, allowance.caller, [(*events[0][:2], events[0][2] | unanswered)], via)
        else:  # one event for the lot: a file may hold 50,000 of them
            summary = {"tried": [None, len(tried)], **unanswered, **fields}
            _record(session, allowance.caller, [(IMPORT_ENTITY, via, summary)], via)
        # The answer does not say how many: that too would tell what is registered.
        raise TooManyDuplicateRefusals(
            retry,
            "More of these handles are registered to accounts you cannot see than your "
            f"remaining allowance of duplicate refusals; none is named. Retry after {retry} s.",
        )
    _record(session, allowance.caller, events, via)


def _record(
    session: AsyncSession,
    caller: Principal | Actor,
    events: list[tuple[str, str, dict[str, Any]]],
    via: str,
) -> None:
    """Write the events once the request's transaction has ended, in one of their own."""
    if not events or not isinstance(caller, Principal):
        return
    at = clock.now()

    async def write(db: Database) -> None:
        async with db.session() as own:
            for entity, entity_id, changes in events:
                audit.record(
                    own, caller, ACTION, entity, entity_id, {**changes, "via": [None, via]},
                    force_id=caller.force_id, at=at,
                )  # fmt: skip
            await own.commit()

    after_transaction(session, write)
