"""Every query of the review campaigns. Scoping: `visible_to(principal)` in the WHERE."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.models import Account, Attestation, Campaign, CampaignItem, Force, Person, Unit
from app.models.base import UTCDateTime

ITEMS = CampaignItem.__table__


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    return force_filter(principal, Campaign.force_id)


async def get(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *, lock: bool = False
) -> tuple[Campaign, str] | None:
    query = (
        sa.select(Campaign, Force.code)
        .join(Force, Force.id == Campaign.force_id)
        .where(Campaign.id == campaign_id, visible_to(principal))
    )
    if lock:
        query = query.with_for_update(of=Campaign.__table__).execution_options(
            populate_existing=True
        )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def page(
    session: AsyncSession,
    principal: Principal,
    force_id: uuid.UUID | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Campaign, str]]:
    query = (
        sa.select(Campaign, Force.code)
        .join(Force, Force.id == Campaign.force_id)
        .where(visible_to(principal))
    )
    if force_id is not None:
        query = query.where(Campaign.force_id == force_id)
    if before is not None:
        query = query.where(
            sa.tuple_(Campaign.created_at, Campaign.id)
            < sa.tuple_(sa.literal(before[0], UTCDateTime()), sa.literal(before[1], sa.Uuid()))
        )
    query = query.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(limit + 1)
    return [(r[0], r[1]) for r in (await session.execute(query)).all()]


def attested(since: Any) -> sa.Exists:
    """The item's account has an attestation (by its owner: the only one who may) made
    since the campaign began."""
    return (
        sa.select(Attestation.id)
        .where(Attestation.account_id == ITEMS.c.account_id, Attestation.at >= since)
        .exists()
    )


def item_status(created_at: datetime, due_on: date, today: date) -> sa.ColumnElement[str]:
    """An item's status now: attested (read from the attestations), overdue past the due
    day even before the escalation job has run, else as stored."""
    since = sa.literal(created_at, UTCDateTime())
    return sa.case(
        (attested(since), sa.literal("attested")),
        (
            sa.and_(ITEMS.c.status == "pending", sa.literal(today, sa.Date()) > due_on),
            sa.literal("overdue"),
        ),
        else_=ITEMS.c.status,
    )


async def progress_rows(
    session: AsyncSession, campaign: Campaign, today: date
) -> list[tuple[uuid.UUID | None, str | None, str, int]]:
    """(unit id, unit name, status, count) over the campaign's items: one statement."""
    status = item_status(campaign.created_at, campaign.due_on, today).label("status")
    counted = (
        sa.select(ITEMS.c.unit_id, status, sa.func.count().label("n"))
        .where(ITEMS.c.campaign_id == campaign.id)
        .group_by(ITEMS.c.unit_id, status)
        .subquery()
    )
    query = sa.select(counted.c.unit_id, Unit.name, counted.c.status, counted.c.n).outerjoin(
        Unit, Unit.id == counted.c.unit_id
    )
    return [(r[0], r[1], r[2], int(r[3])) for r in (await session.execute(query)).all()]


async def snapshot(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    scope: sa.Select[*tuple[Any, ...]],
    params: dict[str, Any],
) -> int:
    """INSERT ... SELECT the scope's accounts as the campaign's items, in one statement."""
    insert = sa.insert(ITEMS).from_select(
        ["campaign_id", "account_id", "force_id", "unit_id", "owner_id", "status"], scope
    )
    await session.execute(insert, params)
    count = await session.scalar(
        sa.select(sa.func.count()).select_from(ITEMS).where(ITEMS.c.campaign_id == campaign_id)
    )
    return int(count or 0)


async def open_campaigns(session: AsyncSession, force_id: uuid.UUID | None = None) -> list[Any]:
    query = sa.select(Campaign, Force.code).join(Force, Force.id == Campaign.force_id)
    query = query.where(Campaign.status == "open")
    if force_id is not None:
        query = query.where(Campaign.force_id == force_id)
    return list((await session.execute(query.order_by(Campaign.created_at))).all())


async def items_to_mail(
    session: AsyncSession, campaign: Campaign, where: sa.ColumnElement[bool]
) -> list[Any]:
    """Unattested items matching `where`, with their account and owner, for emails."""

    since = sa.literal(campaign.created_at, UTCDateTime())
    query = (
        sa.select(
            ITEMS.c.account_id, ITEMS.c.status, ITEMS.c.owner_id, Account.platform,
            Account.handle, Account.display_name, Account.is_anonymous, Account.force_id,
            Person.name.label("owner_name"), Person.email.label("owner_email"),
            Person.status.label("owner_status"),
        )
        .select_from(ITEMS)
        .join(Account, Account.id == ITEMS.c.account_id)
        .outerjoin(Person, Person.id == ITEMS.c.owner_id)
        .where(ITEMS.c.campaign_id == campaign.id, sa.not_(attested(since)), where)
        .order_by(ITEMS.c.owner_id, Account.handle)
    )  # fmt: skip
    return list((await session.execute(query)).all())


async def mark(
    session: AsyncSession,
    campaign: Campaign,
    where: sa.ColumnElement[bool],
    values: dict[str, Any],
) -> None:
    """Set `values` on the unattested items matching `where`: one set-based UPDATE."""
    since = sa.literal(campaign.created_at, UTCDateTime())
    await session.execute(
        sa.update(ITEMS)
        .where(ITEMS.c.campaign_id == campaign.id, sa.not_(attested(since)), where)
        .values(**values)
    )
