from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import redaction
from app.auth.principal import Principal
from app.guidelines.rules import (
    GUIDELINES,
    has_accepted_signoff,
    in_scope_of,
    is_current,
    outstanding_guidelines,
)
from app.models import Account, Custodianship, Force, Guideline, Person, Signoff
from app.models.enums import RELEASED_STATUSES


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    """National guidelines for everyone; a force's own for its callers (all for national)."""
    if principal.is_national:
        return sa.true()
    return sa.or_(Guideline.force_id.is_(None), Guideline.force_id == principal.force_id)


def _with_current(now: datetime) -> sa.Select[Guideline, bool, str]:
    g = GUIDELINES
    return sa.select(Guideline, is_current(g, now).label("current"), Force.code.label("force"))


async def get(
    session: AsyncSession, principal: Principal, guideline_id: uuid.UUID, now: datetime
) -> Any:
    query = (
        _with_current(now)
        .outerjoin(Force, Force.id == Guideline.force_id)
        .where(Guideline.id == guideline_id, visible_to(principal))
    )
    return (await session.execute(query)).one_or_none()


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    now: datetime,
    *,
    force_id: uuid.UUID | None,
    code: str | None,
    current_only: bool,
    after: tuple[str, int, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    query = (
        _with_current(now)
        .outerjoin(Force, Force.id == Guideline.force_id)
        .where(visible_to(principal))
        .order_by(Guideline.code, Guideline.version, Guideline.id)
        .limit(limit + 1)
    )
    if force_id is not None:
        query = query.where(in_scope_of(GUIDELINES, force_id))
    if code is not None:
        query = query.where(Guideline.code == code)
    if current_only:
        query = query.where(is_current(GUIDELINES, now))
    if after is not None:
        query = query.where(
            sa.tuple_(Guideline.code, Guideline.version, Guideline.id)
            > sa.tuple_(
                sa.literal(after[0], sa.String()),
                sa.literal(after[1], sa.Integer()),
                sa.literal(after[2], sa.Uuid()),
            )
        )
    return list((await session.execute(query)).all())


async def latest_version(session: AsyncSession, force_id: uuid.UUID | None, code: str) -> int:
    found = await session.scalar(
        sa.select(sa.func.max(Guideline.version)).where(
            Guideline.code == code, Guideline.force_id.is_not_distinct_from(force_id)
        )
    )
    return int(found or 0)


async def find_signoff(
    session: AsyncSession, guideline_id: uuid.UUID, person_id: uuid.UUID
) -> Signoff | None:
    return await session.scalar(
        sa.select(Signoff).where(
            Signoff.guideline_id == guideline_id, Signoff.person_id == person_id
        )
    )


def _signoff_columns() -> sa.Select[Signoff, str, str, str]:
    return (
        sa.select(
            Signoff,
            Guideline.code,
            Person.name.label("person_name"),
            Force.code.label("force"),
        )
        .join(Guideline, Guideline.id == Signoff.guideline_id)
        .join(Person, Person.id == Signoff.person_id)
        .join(Force, Force.id == Signoff.force_id)
    )


async def get_signoff_row(session: AsyncSession, signoff_id: uuid.UUID) -> Any:
    return (await session.execute(_signoff_columns().where(Signoff.id == signoff_id))).one_or_none()


async def person_in_scope(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID
) -> Person | None:
    query = sa.select(Person).where(Person.id == person_id)
    if not principal.is_national:
        query = query.where(Person.force_id == principal.force_id)
    return await session.scalar(query)


async def signoffs_of_person(
    session: AsyncSession,
    person_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    query = (
        _signoff_columns()
        .where(Signoff.person_id == person_id)
        .order_by(Signoff.signed_at, Signoff.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(
            sa.or_(
                Signoff.signed_at > after[0],
                sa.and_(Signoff.signed_at == after[0], Signoff.id > after[1]),
            )
        )
    return list((await session.execute(query)).all())


def _outstanding_columns(g: Any) -> list[Any]:
    return [
        g.c.id.label("guideline_id"),
        g.c.force_id.label("guideline_force_id"),
        g.c.code,
        g.c.version,
        g.c.title,
        g.c.document_url,
        g.c.sha256,
        g.c.effective_from,
    ]


async def outstanding_for_person(
    session: AsyncSession, person_id: uuid.UUID, force_id: uuid.UUID, now: datetime
) -> list[Any]:
    g = GUIDELINES.alias("g")
    grace = sa.select(Force.signoff_grace_days).where(Force.id == force_id).scalar_subquery()
    query = (
        sa.select(*_outstanding_columns(g), grace.label("grace_days"))
        .where(in_scope_of(g, force_id), is_current(g, now), ~has_accepted_signoff(person_id, g))
        .order_by(g.c.code, g.c.force_id.is_(None), g.c.id)
    )
    return list((await session.execute(query)).all())


async def any_outstanding(
    session: AsyncSession, person_id: uuid.UUID, force_id: uuid.UUID, now: datetime
) -> bool:
    query = outstanding_guidelines(person_id, force_id, now).limit(1)
    return (await session.execute(query)).first() is not None


def _operates_live_account(person: Any) -> sa.ColumnElement[bool]:
    # `(SELECT 1 ... LIMIT 1) IS NOT NULL`, not EXISTS: PostgreSQL would hash every owner
    # and editor of the registry to answer a page of 50.
    accounts = Account.__table__
    cust = Custodianship.__table__
    owns = (
        sa.select(sa.literal(1))
        .where(accounts.c.owner_id == person.c.id, accounts.c.status.not_in(RELEASED_STATUSES))
        .limit(1)
        .correlate(person)
        .scalar_subquery()
    )
    edits = (
        sa.select(sa.literal(1))
        .select_from(cust.join(accounts, accounts.c.id == cust.c.account_id))
        .where(
            cust.c.person_id == person.c.id,
            cust.c.role == "editor",
            cust.c.valid_to.is_(None),
            accounts.c.status.not_in(RELEASED_STATUSES),
        )
        .limit(1)
        .correlate(person)
        .scalar_subquery()
    )
    return sa.or_(owns.is_not(None), edits.is_not(None))


async def outstanding_page(
    session: AsyncSession,
    principal: Principal,
    now: datetime,
    *,
    force_id: uuid.UUID | None,
    after: tuple[uuid.UUID, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """Active people operating a live account, by current guideline they have not signed."""
    p = Person.__table__.alias("p")
    g = GUIDELINES.alias("g")
    f = Force.__table__.alias("f")
    query = (
        sa.select(
            p.c.id.label("person_id"),
            p.c.name.label("person_name"),
            *_outstanding_columns(g),
            f.c.signoff_grace_days.label("grace_days"),
        )
        .select_from(p.join(f, f.c.id == p.c.force_id).join(g, in_scope_of(g, p.c.force_id)))
        .where(
            p.c.status == "active",
            is_current(g, now),
            ~has_accepted_signoff(p.c.id, g),
            _operates_live_account(p),
            # Only people whose records the caller reads (app.auth.redaction).
            redaction.people_filter(principal, p.c.force_id, p.c.subject),
        )
        .order_by(p.c.id, g.c.id)
        .limit(limit + 1)
    )
    if force_id is not None:
        query = query.where(p.c.force_id == force_id)
    if after is not None:
        query = query.where(
            sa.tuple_(p.c.id, g.c.id)
            > sa.tuple_(sa.literal(after[0], sa.Uuid()), sa.literal(after[1], sa.Uuid()))
        )
    return list((await session.execute(query)).all())


async def force_codes(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(sa.select(Force.id, Force.code).where(Force.id.in_(ids)))
    return {row.id: row.code for row in rows}
