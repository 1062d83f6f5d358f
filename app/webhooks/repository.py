from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.auth.principal import Principal
from app.models import OutboxEvent, Webhook, WebhookDelivery
from app.models.base import UTCDateTime


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    """Admins see every webhook; comms admins their force's."""
    if principal.has("admin"):
        return sa.true()
    if principal.force is None or not principal.has("comms_admin"):
        return sa.false()
    return Webhook.force_code == principal.force


async def get(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> Webhook | None:
    return await session.scalar(
        sa.select(Webhook).where(Webhook.id == webhook_id, visible_to(principal))
    )


def _before(
    columns: tuple[QueryableAttribute[Any], ...], key: tuple[datetime, uuid.UUID]
) -> sa.ColumnElement[bool]:
    return sa.tuple_(*columns) < sa.tuple_(
        sa.literal(key[0], UTCDateTime()), sa.literal(key[1], sa.Uuid())
    )


async def page(
    session: AsyncSession,
    principal: Principal,
    force: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Webhook]:
    query = sa.select(Webhook).where(visible_to(principal))
    if force is not None:
        query = query.where(Webhook.force_code == force)
    if before is not None:
        query = query.where(_before((Webhook.created_at, Webhook.id), before))
    query = query.order_by(Webhook.created_at.desc(), Webhook.id.desc()).limit(limit + 1)
    return list((await session.scalars(query)).all())


async def deliveries(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    status: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[WebhookDelivery, str]]:
    query = (
        sa.select(WebhookDelivery, OutboxEvent.type)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.webhook_id == webhook_id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before is not None:
        query = query.where(_before((WebhookDelivery.created_at, WebhookDelivery.id), before))
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return [(d, t) for d, t in (await session.execute(query.limit(limit + 1))).all()]


async def delivery(
    session: AsyncSession, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, str] | None:
    row = (
        await session.execute(
            sa.select(WebhookDelivery, OutboxEvent.type)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])
