"""Getting events to webhooks: routing, claiming, sending, recording (at least once).

1. `route`: events not yet routed get one delivery row per matching webhook (the event's
   force, or a national webhook; a subscribed type; created before the event).
2. `claim`: due deliveries are taken with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite
   serialises writers), at most `webhook_concurrency` in flight per endpoint; the claim
   pushes `next_attempt_at` one lease ahead and commits, so a worker that dies mid-send
   leaves the delivery due again when the lease runs out (same event id: at least once).
3. `send`: signed per Standard Webhooks, to the address checked just now, with a time-out.
4. `record`: 2xx delivered; otherwise retried with exponential backoff and full jitter
   until `retry_until` (24 h after it was routed), then dead.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from standardwebhooks.webhooks import Webhook as Signer

from app import __version__, clock
from app.config import Settings
from app.db import Database, rowcount
from app.models import OutboxEvent, Webhook, WebhookDelivery
from app.outbox.catalogue import matches
from app.outbox.urls import UnsafeURL, resolve

ROUTE_BATCH = 500
LEASE_MARGIN = timedelta(seconds=5)
BACKOFF_CAP = timedelta(hours=2)
NOT_ROUTED = ("webhook.ping",)  # delivered only to the webhook that asked


def payload(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "type": event.type,
        "timestamp": event.created_at.astimezone(UTC).isoformat(),
        "force": event.force_code,
        "subject": event.subject,
        "data": event.data,
    }


def body_of(event: OutboxEvent) -> str:
    return json.dumps(payload(event), separators=(",", ":"), sort_keys=True)


def sign(secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (timestamp: when it is sent)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Signer(secret).sign(msg_id, at, body),
    }


def _insert(dialect: str) -> Any:
    table = postgresql if dialect == "postgresql" else sqlite
    return table.insert(WebhookDelivery).on_conflict_do_nothing(
        index_elements=["webhook_id", "event_id"]
    )


def lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.webhook_timeout) + LEASE_MARGIN


def retry_window(settings: Settings) -> timedelta:
    return timedelta(hours=settings.webhook_retry_hours)


async def route(db: Database) -> int:
    """Route a batch of events to their webhooks; how many events were routed."""
    async with db.session() as session:
        query = (
            sa.select(OutboxEvent)
            .where(OutboxEvent.routed_at.is_(None))
            .order_by(OutboxEvent.created_at)
            .limit(ROUTE_BATCH)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        events = list((await session.scalars(query)).all())
        if not events:
            return 0
        hooks = list((await session.scalars(sa.select(Webhook).where(Webhook.active))).all())
        now = clock.now()
        rows = []
        for event in events:
            if event.type in NOT_ROUTED:
                continue
            for hook in hooks:
                if hook.force_code is not None and hook.force_code != event.force_code:
                    continue
                if hook.created_at > event.created_at or not matches(hook.event_types, event.type):
                    continue
                rows.append(new_delivery(hook.id, event.id, now, db.settings))
        if rows:
            await session.execute(_insert(session.get_bind().dialect.name), rows)
        await session.execute(
            sa.update(OutboxEvent)
            .where(OutboxEvent.id.in_([e.id for e in events]))
            .values(routed_at=now)
        )
        await session.commit()
        return len(events)


def new_delivery(
    webhook_id: uuid.UUID, event_id: uuid.UUID, now: datetime, settings: Settings
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "webhook_id": webhook_id,
        "event_id": event_id,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "retry_until": now + retry_window(settings),
    }


@dataclass(frozen=True)
class Attempt:
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    attempt: int
    url: str
    secret: str
    event_id: str
    body: str


async def claim(db: Database, room: dict[uuid.UUID, int], total: int) -> list[Attempt]:
    """Claim due deliveries: at most `room[webhook]` (default webhook_concurrency) per
    endpoint and `total` in all."""
    settings = db.settings
    if total <= 0:
        return []
    async with db.session() as session:
        now = clock.now()
        due = sa.and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        hooks = (
            await session.scalars(sa.select(WebhookDelivery.webhook_id).where(due).distinct())
        ).all()
        chosen: list[uuid.UUID] = []
        for webhook_id in hooks:
            free = min(room.get(webhook_id, settings.webhook_concurrency), total - len(chosen))
            if free <= 0:
                continue
            # Only the rows taken are locked; another worker skips them and takes the next.
            query = (
                sa.select(WebhookDelivery.id)
                .where(due, WebhookDelivery.webhook_id == webhook_id)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(free)
            )
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            chosen.extend((await session.scalars(query)).all())
        if not chosen:
            await session.rollback()
            return []
        await session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(chosen))
            .values(
                next_attempt_at=now + lease(settings),
                attempts=WebhookDelivery.attempts + 1,
                last_attempt_at=now,
            )
        )
        rows = (
            await session.execute(
                sa.select(WebhookDelivery, Webhook.url, Webhook.secret, OutboxEvent)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.id.in_(chosen))
            )
        ).all()
        attempts = [
            Attempt(d.id, d.webhook_id, d.attempts, url, secret, str(event.id), body_of(event))
            for d, url, secret, event in rows
        ]
        await session.commit()
        return attempts


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


async def send(client: httpx.AsyncClient, settings: Settings, attempt: Attempt) -> Outcome:
    try:
        target = await resolve(attempt.url, settings.webhook_allow_private_urls)
    except UnsafeURL as exc:
        return Outcome(False, None, f"refused: {exc}")
    headers = {
        "content-type": "application/json",
        "user-agent": f"police-social-registry/{__version__} (webhooks)",
        **sign(attempt.secret, attempt.event_id, attempt.body, datetime.now(UTC)),
    }
    extensions: dict[str, Any] = {}
    if target.host_header is not None:
        headers["host"] = target.host_header
        extensions["sni_hostname"] = target.host
    started = time.monotonic()
    try:
        response = await client.post(
            target.url,
            content=attempt.body.encode(),
            headers=headers,
            extensions=extensions,
            timeout=settings.webhook_timeout,
        )
    except httpx.TimeoutException:
        return Outcome(False, None, f"timed out after {time.monotonic() - started:.1f} s")
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code, None)
    return Outcome(False, response.status_code, f"answered {response.status_code}")


def backoff(settings: Settings, attempt: int) -> timedelta:
    """Exponential backoff with full jitter: a random wait up to base·2^(attempt-1),
    never under a tenth of it (capped at two hours)."""
    ceiling = min(
        timedelta(seconds=settings.webhook_retry_base * 2 ** min(attempt - 1, 20)), BACKOFF_CAP
    )
    return ceiling * random.uniform(0.1, 1.0)


async def record(db: Database, attempt: Attempt, outcome: Outcome) -> str:
    """Write an attempt's outcome; the delivery's status after it. A delivery whose lease
    ran out and that another attempt claimed since is left to that attempt."""
    now = clock.now()
    async with db.session() as session:
        mine = sa.and_(
            WebhookDelivery.id == attempt.delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.attempts == attempt.attempt,
        )
        if outcome.ok:
            values: dict[str, Any] = {"status": "delivered", "delivered_at": now}
            status = "delivered"
        else:
            retry_until = await session.scalar(sa.select(WebhookDelivery.retry_until).where(mine))
            if retry_until is None:
                return "superseded"
            wait = backoff(db.settings, attempt.attempt)
            if now + wait > retry_until:
                values, status = {"status": "dead"}, "dead"
            else:
                values, status = {"next_attempt_at": now + wait}, "pending"
        values |= {"last_status_code": outcome.status_code, "last_error": outcome.error}
        result = await session.execute(sa.update(WebhookDelivery).where(mine).values(**values))
        await session.commit()
        return status if rowcount(result) else "superseded"
