from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.models import Force


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    return force_filter(principal, Force.id)


async def get_by_code(session: AsyncSession, principal: Principal, code: str) -> Force | None:
    return await session.scalar(sa.select(Force).where(Force.code == code, visible_to(principal)))


async def list_visible(
    session: AsyncSession, principal: Principal, after_code: str | None, limit: int
) -> list[Force]:
    query = sa.select(Force).where(visible_to(principal)).order_by(Force.code).limit(limit + 1)
    if after_code is not None:
        query = query.where(Force.code > after_code)
    return list((await session.scalars(query)).all())


async def codes_by_id(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(sa.select(Force.id, Force.code).where(Force.id.in_(ids)))
    return {row.id: row.code for row in rows}
