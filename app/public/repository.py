"""Queries behind the public routes: only active corporate and official accounts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models import Account, Force
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
) -> list[sa.Row[Any]]:
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
