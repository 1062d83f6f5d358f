from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.models import AuditEvent


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    entity_type: str | None,
    entity_id: str | None,
    actor: str | None,
    action: str | None = None,
    since: datetime | None,
    until: datetime | None,
    after_id: int | None,
    limit: int,
) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(force_filter(principal, AuditEvent.force_id))
    if entity_type is not None:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    if actor is not None:
        query = query.where(AuditEvent.actor_sub == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if after_id is not None:
        query = query.where(AuditEvent.id > after_id)
    return list((await session.scalars(query.order_by(AuditEvent.id).limit(limit + 1))).all())
