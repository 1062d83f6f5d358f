"""Queries behind the public routes: only active corporate and official accounts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models import Account, AuditEvent, Force
from app.pagination import after

PUBLIC_CLASSIFICATIONS = ("corporate", "official")


def _public() -> Any:
    return (
        sa.select(
            Force.code.label("force_code"),
            Force.name.label("force_name"),
            Account.platform,
            Account.handle,
            Account.url,
            Account.display_name,
            Account.classification,
        )
        .join(Force, Force.id == Account.force_id)
        .where(
            Account.status == "active",
            Account.classification.in_(PUBLIC_CLASSIFICATIONS),
        )
    )


_VERIFIED = (
    _public()
    .where(
        Account.platform == sa.bindparam("platform", type_=sa.String()),
        Account.handle == sa.bindparam("handle", type_=sa.String()),
    )
    .limit(1)
)


async def verified(db: Database, platform: str, handle: str) -> Mapping[str, Any] | None:
    rows = await db.fetch(_VERIFIED, {"platform": platform, "handle": handle})
    return rows[0] if rows else None


async def force_id(session: AsyncSession, code: str) -> Any:
    return await session.scalar(sa.select(Force.id).where(Force.code == code))


async def directory(
    session: AsyncSession,
    force_id: Any,
    platform: str | None,
    after_key: list[str | None] | None,
    limit: int,
) -> list[sa.Row[*tuple[Any, ...]]]:
    """A page in (platform, handle) order: unique among live accounts, so a stable key."""
    query = _public()
    if force_id is not None:
        query = query.where(Account.force_id == force_id)
    if platform is not None:
        query = query.where(Account.platform == platform)
    if after_key is not None:
        query = query.where(after([Account.platform, Account.handle], after_key))
    query = query.order_by(Account.platform, Account.handle).limit(limit)
    return list((await session.execute(query)).all())


# Audit actions that can add an account to the directory, change what it shows or take
# it off (the feed); the service decides which of their events do.
FEED_ACTIONS = (
    "account.created",
    "account.imported",
    "account.updated",
    "account.status_changed",
    "account.registered",
    "account.decommissioning",
    "account.decommissioned",
    "account.transferred",
)


async def directory_events(
    session: AsyncSession, force_id: Any, limit: int
) -> list[sa.Row[*tuple[Any, ...]]]:
    """The latest `limit` account events that may touch the directory, newest first
    (ix_audit_events_force_id_id for one force, the primary key otherwise)."""
    query = sa.select(
        AuditEvent.id, AuditEvent.at, AuditEvent.action, AuditEvent.entity_id, AuditEvent.changes
    ).where(AuditEvent.entity_type == "account", AuditEvent.action.in_(FEED_ACTIONS))
    if force_id is not None:
        query = query.where(AuditEvent.force_id == force_id)
    query = query.order_by(AuditEvent.id.desc()).limit(limit)
    return list((await session.execute(query)).all())


async def feed_accounts(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> list[sa.Row[*tuple[Any, ...]]]:
    """The accounts those events are about, whatever their classification and status now."""
    if not ids:
        return []
    query = (
        sa.select(
            Account.id,
            Account.platform,
            Account.handle,
            Account.url,
            Account.display_name,
            Account.classification,
            Account.status,
            Force.code.label("force_code"),
            Force.name.label("force_name"),
        )
        .join(Force, Force.id == Account.force_id)
        .where(Account.id.in_(list(ids)))
    )
    return list((await session.execute(query)).all())


async def force_name(session: AsyncSession, force_id: Any) -> str | None:
    return await session.scalar(sa.select(Force.name).where(Force.id == force_id))
