"""Queries behind the public routes: only active corporate and official accounts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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


async def verified(session: AsyncSession, platform: str, handle: str) -> sa.Row[Any] | None:
    query = _public().where(Account.platform == platform, Account.handle == handle).limit(1)
    return (await session.execute(query)).first()


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
