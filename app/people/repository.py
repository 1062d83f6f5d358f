from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import redaction
from app.auth.principal import Principal
from app.db import rowcount
from app.models import Custodianship, Force, Person
from app.pagination import after as after_key


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    """The person records the caller may read (`app.auth.redaction`)."""
    return redaction.people_filter(principal, Person.force_id, Person.subject)


def _like_escaped(text: str) -> str:
    r"""`%` and `_` in a search are literal characters, not wildcards (escape char `\`)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class PeopleFilter:
    force_id: uuid.UUID | None = None
    status: str | None = None
    unit_id: uuid.UUID | None = None
    q: str | None = None


async def get(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID
) -> tuple[Person, str] | None:
    row = (
        await session.execute(
            sa.select(Person, Force.code)
            .join(Force, Force.id == Person.force_id)
            .where(Person.id == person_id, visible_to(principal))
        )
    ).first()
    if row is None:
        return None
    person, code = row
    return person, code


async def page(
    session: AsyncSession,
    principal: Principal,
    where: PeopleFilter,
    after: tuple[uuid.UUID, str] | None,
    limit: int,
) -> list[tuple[Person, str]]:
    """People in (force, staff_id) order — the unique key, so the order is total and indexed."""
    query = (
        sa.select(Person, Force.code)
        .join(Force, Force.id == Person.force_id)
        .where(visible_to(principal))
    )
    if where.force_id is not None:
        query = query.where(Person.force_id == where.force_id)
    if where.status is not None:
        query = query.where(Person.status == where.status)
    if where.unit_id is not None:
        query = query.where(Person.unit_id == where.unit_id)
    if where.q:
        pattern = _like_escaped(where.q)
        query = query.where(
            sa.or_(
                Person.name.ilike(pattern, escape="\\"),
                Person.staff_id.ilike(pattern, escape="\\"),
            )
        )
    if after is not None:
        query = query.where(after_key((Person.force_id, Person.staff_id), after))
    query = query.order_by(Person.force_id, Person.staff_id).limit(limit + 1)
    return [(person, code) for person, code in await session.execute(query)]


async def staff_id_taken(
    session: AsyncSession, force_id: uuid.UUID, staff_id: str, except_id: uuid.UUID | None = None
) -> bool:
    query = sa.select(Person.id).where(Person.force_id == force_id, Person.staff_id == staff_id)
    if except_id is not None:
        query = query.where(Person.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def subject_taken(
    session: AsyncSession, force_id: uuid.UUID, subject: str, except_id: uuid.UUID | None = None
) -> bool:
    query = sa.select(Person.id).where(Person.force_id == force_id, Person.subject == subject)
    if except_id is not None:
        query = query.where(Person.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def mark_left(
    session: AsyncSession, person_id: uuid.UUID, left_on: date, at: datetime
) -> bool:
    """Active → left as one conditional UPDATE, so two racing leaves cannot both win."""
    result = await session.execute(
        sa.update(Person)
        .where(Person.id == person_id, Person.status == "active")
        .values(status="left", left_on=left_on, updated_at=at, version=Person.version + 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def end_open_editorships(
    session: AsyncSession, person_id: uuid.UUID, at: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Close every open editor custodianship of the person at `at`; (id, account_id) of each."""
    result = await session.execute(
        sa.update(Custodianship)
        .where(
            Custodianship.person_id == person_id,
            Custodianship.role == "editor",
            Custodianship.valid_to.is_(None),
        )
        # An editorship that would only start after `at` closes empty, at its own start.
        .values(
            valid_to=sa.case((Custodianship.valid_from > at, Custodianship.valid_from), else_=at)
        )
        .returning(Custodianship.id, Custodianship.account_id)
        .execution_options(synchronize_session=False)
    )
    return sorted((row.id, row.account_id) for row in result)


async def mark_rejoined(session: AsyncSession, person_id: uuid.UUID, at: datetime) -> bool:
    """Left → active as one conditional UPDATE; custody history is not touched."""
    result = await session.execute(
        sa.update(Person)
        .where(Person.id == person_id, Person.status == "left")
        .values(status="active", left_on=None, updated_at=at, version=Person.version + 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1
