"""Webhooks per force (SPEC §8): comms admins subscribe their force's events, admins any
force's or every force's; deliveries are signed per Standard Webhooks by the worker."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit import service as audit
from app.auth.principal import Principal
from app.concurrency import check_if_match
from app.config import Settings, get_settings
from app.db import database_of
from app.errors import NotFound, ValidationFailed
from app.holds.service import decode_time_key
from app.models import Force, OutboxEvent, Webhook, WebhookDelivery
from app.outbox import catalogue, delivery
from app.outbox.urls import UnsafeURL, resolve
from app.pagination import page_of
from app.webhooks import repository
from app.webhooks.schemas import WebhookCreate, WebhookUpdate


class WebhookNotFound(NotFound):
    code = "webhook-not-found"


class DeliveryNotFound(NotFound):
    code = "delivery-not-found"


class UnsafeWebhookURL(ValidationFailed):
    code = "unsafe-webhook-url"


class UnknownEventType(ValidationFailed):
    code = "unknown-event-type"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _settings(session: AsyncSession) -> Settings:
    db = database_of(session)
    return db.settings if db is not None else get_settings()


async def _check_url(session: AsyncSession, url: str) -> None:
    try:
        await resolve(url, _settings(session).webhook_allow_private_urls)
    except UnsafeURL as exc:
        error = {"loc": ["body", "url"], "msg": str(exc)}
        raise UnsafeWebhookURL(str(exc), errors=[error]) from None


def _check_types(types: list[str]) -> list[str]:
    unknown = [t for t in types if not catalogue.known(t)]
    if unknown:
        msg = f"unknown event types: {', '.join(unknown)} (see the event catalogue)"
        raise UnknownEventType(msg, errors=[{"loc": ["body", "event_types"], "msg": msg}])
    return list(dict.fromkeys(types))


async def _force_id(session: AsyncSession, code: str | None) -> uuid.UUID | None:
    if code is None:
        return None
    return await session.scalar(sa.select(Force.id).where(Force.code == code))


async def _owning_force(
    session: AsyncSession, principal: Principal, wanted: str | None
) -> str | None:
    if not principal.has("admin"):
        if wanted is not None and wanted != principal.force:
            msg = "must be your own force or omitted"
            raise ValidationFailed(
                "Comms admins subscribe their own force's events only.",
                errors=[{"loc": ["body", "force"], "msg": msg}],
            )
        return principal.force
    if wanted is not None and await _force_id(session, wanted) is None:
        raise NotFound(f"No force with code {wanted!r}.")
    return wanted


async def create(session: AsyncSession, principal: Principal, body: WebhookCreate) -> Webhook:
    force = await _owning_force(session, principal, body.force)
    types = _check_types(body.event_types)
    await _check_url(session, body.url)
    now = clock.now()
    hook = Webhook(
        id=uuid.uuid4(), force_code=force, url=body.url, event_types=types, secret=new_secret(),
        active=True, created_by=principal.sub, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(hook)
    await session.flush()
    audit.record(
        session, principal, "webhook.created", "webhook", hook.id,
        {"url": [None, hook.url], "event_types": [None, types], "force": [None, force]},
        force_id=await _force_id(session, force),
    )  # fmt: skip
    return hook


async def get(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    hook = await repository.get(session, principal, webhook_id)
    if hook is None:
        raise WebhookNotFound(f"No webhook {webhook_id}.")
    return hook


async def page(
    session: AsyncSession, principal: Principal, force: str | None, cursor: str | None, limit: int
) -> tuple[list[Webhook], str | None]:
    if force is not None and not principal.has("admin") and force != principal.force:
        raise NotFound(f"No force with code {force!r}.")
    if force is not None and principal.has("admin") and await _force_id(session, force) is None:
        raise NotFound(f"No force with code {force!r}.")
    rows = await repository.page(session, principal, force, decode_time_key(cursor), limit)
    return page_of(rows, limit, lambda h: [h.created_at.isoformat(), h.id])


async def update(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    if_match: str | None,
) -> Webhook:
    hook = await get(session, principal, webhook_id)
    check_if_match(if_match, hook.version)
    given = body.model_fields_set
    before = {"url": hook.url, "event_types": hook.event_types, "active": hook.active}
    if "url" in given and body.url is not None and body.url != hook.url:
        await _check_url(session, body.url)
        hook.url = body.url
    if "event_types" in given and body.event_types is not None:
        hook.event_types = _check_types(body.event_types)
    if "active" in given and body.active is not None:
        hook.active = body.active
    changes = audit.diff(before, {"url": hook.url, "event_types": hook.event_types,
                                  "active": hook.active})  # fmt: skip
    if changes:
        hook.updated_at = clock.now()
        await session.flush()
        audit.record(
            session, principal, "webhook.updated", "webhook", hook.id, changes,
            force_id=await _force_id(session, hook.force_code),
        )  # fmt: skip
    return hook


async def delete(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> None:
    hook = await get(session, principal, webhook_id)
    await session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
    await session.delete(hook)
    await session.flush()
    audit.record(
        session, principal, "webhook.deleted", "webhook", hook.id, {"url": [hook.url, None]},
        force_id=await _force_id(session, hook.force_code),
    )  # fmt: skip


async def rotate_secret(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID
) -> Webhook:
    """A new secret at once: deliveries from now on are signed with it only."""
    hook = await get(session, principal, webhook_id)
    hook.secret = new_secret()
    hook.updated_at = clock.now()
    await session.flush()
    audit.record(
        session, principal, "webhook.secret_rotated", "webhook", hook.id, {},
        force_id=await _force_id(session, hook.force_code),
    )  # fmt: skip
    return hook


async def ping(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID
) -> tuple[WebhookDelivery, str]:
    """A `webhook.ping` event for this webhook alone, delivered by the worker."""
    hook = await get(session, principal, webhook_id)
    now = clock.now()
    event = OutboxEvent(
        id=uuid.uuid4(), type="webhook.ping", force_code=hook.force_code,
        subject={"webhook_id": str(hook.id)}, data={}, created_at=now, routed_at=now,
    )  # fmt: skip
    session.add(event)
    await session.flush()
    row = WebhookDelivery(**delivery.new_delivery(hook.id, event.id, now, _settings(session)))
    session.add(row)
    await session.flush()
    return row, event.type


async def deliveries(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[WebhookDelivery, str]], str | None]:
    hook = await get(session, principal, webhook_id)
    rows = await repository.deliveries(session, hook.id, status, decode_time_key(cursor), limit)
    return page_of(rows, limit, lambda row: [row[0].created_at.isoformat(), row[0].id])


async def redeliver(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, str]:
    """Send a delivery again (delivered or dead-lettered): due now, with a fresh 24 h of
    retries; the receiver sees the same `webhook-id`."""
    hook = await get(session, principal, webhook_id)
    found = await repository.delivery(session, hook.id, delivery_id)
    if found is None:
        raise DeliveryNotFound(f"No delivery {delivery_id} of webhook {webhook_id}.")
    row, type_ = found
    now = clock.now()
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.retry_until = now + delivery.retry_window(_settings(session))
    row.delivered_at = None
    await session.flush()
    audit.record(
        session, principal, "webhook.redelivered", "webhook", hook.id,
        {"delivery_id": [None, str(row.id)], "event_id": [None, str(row.event_id)]},
        force_id=await _force_id(session, hook.force_code),
    )  # fmt: skip
    return row, type_


def delivery_fields(row: WebhookDelivery, type_: str) -> dict[str, Any]:
    return {
        "id": row.id, "webhook_id": row.webhook_id, "event_id": row.event_id,
        "event_type": type_, "status": row.status, "attempts": row.attempts,
        "created_at": row.created_at,
        "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
        "retry_until": row.retry_until, "last_attempt_at": row.last_attempt_at,
        "last_status_code": row.last_status_code, "last_error": row.last_error,
        "delivered_at": row.delivered_at,
    }  # fmt: skip
