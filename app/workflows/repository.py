"""Every query of the workflows: requests, their decisions and checklists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.db import rowcount
from app.models import (
    Account,
    ChecklistItem,
    Custodianship,
    Force,
    Objective,
    Person,
    Request,
    RequestDecision,
    Unit,
)
from app.models.base import UTCDateTime
from app.workflows.states import OPEN


def operated_by(principal: Principal, account_id: Any) -> sa.Exists:
    """The caller (people.subject == sub in their force) owns or edits the account now."""
    return (
        sa.select(Custodianship.id)
        .join(Person, Person.id == Custodianship.person_id)
        .where(
            Custodianship.account_id == account_id,
            Custodianship.valid_to.is_(None),
            Person.subject == principal.sub,
            Person.force_id == principal.force_id,
        )
        .exists()
    )


def requested_by_caller(principal: Principal) -> sa.ColumnElement[bool]:
    """The caller is the request's requester: the same person where the request records
    its requester's person record and the caller has one in the request's force (so a
    person whose `subject` changed is still the requester, and a new holder of the old
    subject is not), else the same token subject."""
    caller = (
        sa.select(Person.id)
        .where(
            Person.subject == principal.sub,
            Person.force_id == principal.force_id,
            Person.force_id == Request.force_id,
        )
        .scalar_subquery()
    )
    return sa.case(
        (
            sa.and_(Request.requested_by_person_id.is_not(None), caller.is_not(None)),
            Request.requested_by_person_id == caller,
        ),
        else_=Request.requested_by == principal.sub,
    )


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    """Force-scoped roles see their force; staff only what they asked for or operate."""
    scoped = force_filter(principal, Request.force_id)
    if principal.is_national or principal.has("comms_admin", "psd"):
        return scoped
    return sa.and_(
        scoped,
        sa.or_(requested_by_caller(principal), operated_by(principal, Request.account_id)),
    )


async def is_requester(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> bool:
    found = await session.scalar(
        sa.select(Request.id).where(Request.id == request_id, requested_by_caller(principal))
    )
    return found is not None


def _with_code() -> sa.Select[Request, str]:
    return sa.select(Request, Force.code).join(Force, Force.id == Request.force_id)


async def get(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID
) -> tuple[Request, str] | None:
    row = (
        await session.execute(_with_code().where(Request.id == request_id, visible_to(principal)))
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class RequestFilter:
    force_id: uuid.UUID | None = None
    status: str | None = None
    kind: str | None = None
    account_id: uuid.UUID | None = None
    mine: bool = False  # only requests the caller asked for


async def page(
    session: AsyncSession,
    principal: Principal,
    where: RequestFilter,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Request, str]]:
    """Newest first, by (created_at, id) — a total order that keyset pagination can resume."""
    query = _with_code().where(visible_to(principal))
    if where.force_id is not None:
        query = query.where(Request.force_id == where.force_id)
    if where.status is not None:
        query = query.where(Request.status == where.status)
    if where.kind is not None:
        query = query.where(Request.kind == where.kind)
    if where.account_id is not None:
        query = query.where(Request.account_id == where.account_id)
    if where.mine:
        query = query.where(requested_by_caller(principal))
    if before is not None:
        query = query.where(
            sa.tuple_(Request.created_at, Request.id)
            < sa.tuple_(sa.literal(before[0], UTCDateTime()), sa.literal(before[1], sa.Uuid()))
        )
    query = query.order_by(Request.created_at.desc(), Request.id.desc()).limit(limit + 1)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def decisions_of(session: AsyncSession, request_id: uuid.UUID) -> list[RequestDecision]:
    """In the order they were made: each starts where the previous one ended (no state
    repeats), which also orders decisions made within one clock tick."""
    query = sa.select(RequestDecision).where(RequestDecision.request_id == request_id)
    by_source = {d.from_status: d for d in (await session.scalars(query)).all()}
    ordered, status = [], "submitted"
    while status in by_source:
        ordered.append(by_source.pop(status))
        status = ordered[-1].to_status
    return ordered + sorted(by_source.values(), key=lambda d: (d.at, str(d.id)))


async def checklist_of(session: AsyncSession, request_id: uuid.UUID) -> list[ChecklistItem]:
    query = sa.select(ChecklistItem).where(ChecklistItem.request_id == request_id)
    return list((await session.scalars(query)).all())


async def checklist_item(
    session: AsyncSession, request_id: uuid.UUID, item: str
) -> ChecklistItem | None:
    return await session.get(ChecklistItem, (request_id, item))


async def open_request_id(session: AsyncSession, account_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        sa.select(Request.id).where(Request.account_id == account_id, Request.status.in_(OPEN))
    )


async def claim(session: AsyncSession, request: Request, source: str, target: str) -> bool:
    """Move the request only if it is still in `source`: exactly one racer gets the row.

    On PostgreSQL the losers wait on the row lock, then find the status changed and
    update nothing; on SQLite writers are already serialised by BEGIN IMMEDIATE.
    """
    result = await session.execute(
        sa.update(Request)
        .where(Request.id == request.id, Request.status == source)
        .values(status=target, version=Request.version + 1, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False
    await session.refresh(request)
    return True


# --- Reads of the organisation that the rules of a request depend on --------------------


async def operates(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> bool:
    return bool(await session.scalar(sa.select(operated_by(principal, sa.literal(account_id)))))


async def lock_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    """The account, row-locked on PostgreSQL until commit (holds and effects serialise)."""
    query = (
        sa.select(Account)
        .where(Account.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).one()


async def person_in_force(
    session: AsyncSession, force_id: uuid.UUID, person_id: uuid.UUID
) -> Person | None:
    return await session.scalar(
        sa.select(Person).where(Person.id == person_id, Person.force_id == force_id)
    )


async def unit_in_force(
    session: AsyncSession, force_id: uuid.UUID, unit_id: uuid.UUID
) -> Unit | None:
    return await session.scalar(
        sa.select(Unit).where(Unit.id == unit_id, Unit.force_id == force_id)
    )


async def objectives_by_code(
    session: AsyncSession, force_id: uuid.UUID, codes: list[str]
) -> list[Objective]:
    if not codes:
        return []
    query = sa.select(Objective).where(Objective.force_id == force_id, Objective.code.in_(codes))
    return list((await session.scalars(query)).all())


async def review_interval_days(session: AsyncSession, force_id: uuid.UUID) -> int:
    days = await session.scalar(sa.select(Force.review_interval_days).where(Force.id == force_id))
    return int(days or 365)
