from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.models import Force, Objective
from app.pagination import after as after_key


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    return force_filter(principal, Objective.force_id)


async def get(
    session: AsyncSession, principal: Principal, objective_id: uuid.UUID
) -> tuple[Objective, str] | None:
    row = (
        await session.execute(
            sa.select(Objective, Force.code)
            .join(Force, Force.id == Objective.force_id)
            .where(Objective.id == objective_id, visible_to(principal))
        )
    ).first()
    if row is None:
        return None
    objective, code = row
    return objective, code


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    force_id: uuid.UUID | None,
    active: bool | None,
    after: tuple[uuid.UUID, str] | None,
    limit: int,
) -> list[tuple[Objective, str]]:
    """Objectives in (force, code) order — the unique key, so the order is total and indexed."""
    query = (
        sa.select(Objective, Force.code)
        .join(Force, Force.id == Objective.force_id)
        .where(visible_to(principal))
    )
    if force_id is not None:
        query = query.where(Objective.force_id == force_id)
    if active is not None:
        query = query.where(Objective.active == active)
    if after is not None:
        query = query.where(after_key((Objective.force_id, Objective.code), after))
    query = query.order_by(Objective.force_id, Objective.code).limit(limit + 1)
    return [(objective, code) for objective, code in await session.execute(query)]


async def code_taken(
    session: AsyncSession, force_id: uuid.UUID, code: str, except_id: uuid.UUID | None = None
) -> bool:
    query = sa.select(Objective.id).where(Objective.force_id == force_id, Objective.code == code)
    if except_id is not None:
        query = query.where(Objective.id != except_id)
    return (await session.scalar(query.limit(1))) is not None
