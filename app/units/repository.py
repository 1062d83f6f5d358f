from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.models import Account, Force, Person, Unit
from app.pagination import after as after_key


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    return force_filter(principal, Unit.force_id)


async def get(
    session: AsyncSession, principal: Principal, unit_id: uuid.UUID
) -> tuple[Unit, str] | None:
    row = (
        await session.execute(
            sa.select(Unit, Force.code)
            .join(Force, Force.id == Unit.force_id)
            .where(Unit.id == unit_id, visible_to(principal))
        )
    ).first()
    if row is None:
        return None
    unit, code = row
    return unit, code


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    force_id: uuid.UUID | None,
    after: tuple[uuid.UUID, str] | None,
    limit: int,
) -> list[tuple[Unit, str]]:
    """Units in (force, name) order — the unique key, so the order is total and indexed."""
    query = (
        sa.select(Unit, Force.code)
        .join(Force, Force.id == Unit.force_id)
        .where(visible_to(principal))
    )
    if force_id is not None:
        query = query.where(Unit.force_id == force_id)
    if after is not None:
        query = query.where(after_key((Unit.force_id, Unit.name), after))
    query = query.order_by(Unit.force_id, Unit.name).limit(limit + 1)
    return [(unit, code) for unit, code in await session.execute(query)]


async def exists_in_force(session: AsyncSession, force_id: uuid.UUID, unit_id: uuid.UUID) -> bool:
    found = await session.scalar(
        sa.select(Unit.id).where(Unit.id == unit_id, Unit.force_id == force_id)
    )
    return found is not None


async def name_taken(
    session: AsyncSession, force_id: uuid.UUID, name: str, except_id: uuid.UUID | None = None
) -> bool:
    query = sa.select(Unit.id).where(Unit.force_id == force_id, Unit.name == name)
    if except_id is not None:
        query = query.where(Unit.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def ancestors_include(session: AsyncSession, start_id: uuid.UUID, wanted: uuid.UUID) -> bool:
    """Whether `wanted` is `start_id` or one of its ancestors (UNION stops on any cycle)."""
    chain = sa.select(Unit.id, Unit.parent_id).where(Unit.id == start_id).cte(recursive=True)
    parent = aliased(Unit)
    chain = chain.union(
        sa.select(parent.id, parent.parent_id).join(chain, parent.id == chain.c.parent_id)
    )
    found = await session.scalar(sa.select(chain.c.id).where(chain.c.id == wanted).limit(1))
    return found is not None


async def references(session: AsyncSession, unit_id: uuid.UUID) -> list[str]:
    """What still points at the unit: people, accounts, child units."""
    checks = {
        "people": sa.select(Person.id).where(Person.unit_id == unit_id).limit(1),
        "accounts": sa.select(Account.id).where(Account.unit_id == unit_id).limit(1),
        "child units": sa.select(Unit.id).where(Unit.parent_id == unit_id).limit(1),
    }
    found = await session.execute(
        sa.select(*(sa.exists(q).label(name.replace(" ", "_")) for name, q in checks.items()))
    )
    row = found.one()
    return [name for name, hit in zip(checks, row, strict=True) if hit]
