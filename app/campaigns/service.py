"""Review campaigns: a scope of accounts (the filters of `GET /accounts`), a due date
and a message; every account's owner must attest (the one attestation route) by then.

The scope is a snapshot taken at creation (`campaign_items`, one INSERT ... SELECT, no
per-row objects); an item's `attested` state is read from the attestations, so progress
needs no bookkeeping when an owner attests. Accounts without an active owner are
`orphaned` from the start: they go straight to the comms team (`jobs`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.accounts import service as accounts
from app.accounts.export import safe_cell
from app.audit import service as audit
from app.auth.deps import scope_force_id, target_force_id
from app.auth.principal import Principal
from app.campaigns import repository
from app.campaigns.schemas import (
    ITEM_STATUSES,
    CampaignCreate,
    CampaignRead,
    CampaignSummary,
    Progress,
    UnitProgress,
)
from app.errors import Conflict, NotFound, ValidationFailed
from app.holds.service import decode_time_key
from app.models import Account, Campaign, Person
from app.pagination import page_of

ATTESTABLE = ("active", "suspended")


class CampaignNotFound(NotFound):
    code = "campaign-not-found"


class CampaignClosed(Conflict):
    code = "campaign-closed"
    title = "Campaign already closed"


class EmptyCampaign(Conflict):
    code = "empty-campaign"
    title = "No account in the campaign's scope"


def _bad(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {msg}", errors=[{"loc": ["body", field], "msg": msg}])


async def create(session: AsyncSession, principal: Principal, body: CampaignCreate) -> Campaign:
    force_id = await target_force_id(session, principal, body.filter.force)
    if body.due_on <= clock.today():
        raise _bad("due_on", "must be a day after today")
    filters = dataclasses.replace(
        await accounts.filters_of(
            session, principal, body.filter.model_copy(update={"force": None})
        ),
        force_id=force_id,
    )
    scope = body.filter.model_dump(mode="json", exclude_none=True)
    campaign = Campaign(
        force_id=force_id, name=body.name, message=body.message, due_on=body.due_on,
        scope=scope, status="open", total=0, created_by=principal.sub, created_at=clock.now(),
    )  # fmt: skip
    session.add(campaign)
    await session.flush()
    owner_status = sa.select(Person.status).where(Person.id == Account.owner_id).scalar_subquery()
    orphaned = sa.or_(Account.owner_id.is_(None), sa.func.coalesce(owner_status, "") != "active")
    select, params = accounts.matching(
        principal, filters,
        sa.literal(campaign.id, sa.Uuid()), Account.id, Account.force_id, Account.unit_id,
        Account.owner_id, sa.case((orphaned, "orphaned"), else_="pending"),
    )  # fmt: skip
    select = select.where(Account.status.in_(ATTESTABLE)).order_by(None)
    total = await repository.snapshot(session, campaign.id, select, params)
    if total == 0:
        raise EmptyCampaign("No active or suspended account matches the campaign's filter.")
    campaign.total = total
    await session.flush()
    audit.record(
        session, principal, "campaign.created", "campaign", campaign.id,
        {"name": [None, campaign.name], "due_on": [None, campaign.due_on.isoformat()],
         "scope": [None, scope], "total": [None, total]},
        force_id=force_id,
    )  # fmt: skip
    return campaign


async def _visible(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, lock: bool = False
) -> tuple[Campaign, str]:
    found = await repository.get(session, principal, campaign_id, lock=lock)
    if found is None:
        raise CampaignNotFound(f"No campaign {campaign_id}.")
    return found


async def progress(session: AsyncSession, campaign: Campaign) -> Progress:
    rows = await repository.progress_rows(session, campaign, clock.today())
    by_status = dict.fromkeys(ITEM_STATUSES, 0)
    units: dict[uuid.UUID | None, UnitProgress] = {}
    for unit_id, unit_name, status, n in rows:
        by_status[status] += n
        unit = units.setdefault(
            unit_id,
            UnitProgress(
                unit_id=unit_id, unit=unit_name, total=0, by_status=dict.fromkeys(ITEM_STATUSES, 0)
            ),
        )
        unit.total += n
        unit.by_status[status] += n
    ordered = sorted(units.values(), key=lambda u: (u.unit is None, u.unit or "", str(u.unit_id)))
    return Progress(total=sum(by_status.values()), by_status=by_status, by_unit=ordered)


def _summary(campaign: Campaign, force: str) -> dict[str, Any]:
    return {
        "id": campaign.id, "force": force, "name": campaign.name, "message": campaign.message,
        "due_on": campaign.due_on, "status": campaign.status, "total": campaign.total,
        "scope": campaign.scope, "created_at": campaign.created_at,
        "closed_at": campaign.closed_at,
    }  # fmt: skip


async def read(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> CampaignRead:
    campaign, force = await _visible(session, principal, campaign_id)
    result = Progress.model_validate(campaign.result) if campaign.result else None
    return CampaignRead(
        **_summary(campaign, force), progress=await progress(session, campaign), result=result
    )


async def page(
    session: AsyncSession,
    principal: Principal,
    force: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[CampaignSummary], str | None]:
    force_id = await scope_force_id(session, principal, force)
    rows = await repository.page(session, principal, force_id, decode_time_key(cursor), limit)
    items, next_cursor = page_of(rows, limit, lambda r: [r[0].created_at.isoformat(), r[0].id])
    return [CampaignSummary(**_summary(c, f)) for c, f in items], next_cursor


async def close(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID
) -> CampaignRead:
    """Close the campaign and record its result (the progress at that moment)."""
    campaign, _ = await _visible(session, principal, campaign_id, lock=True)
    if campaign.status != "open":
        raise CampaignClosed("The campaign is closed already; its result is recorded.")
    result = await progress(session, campaign)
    campaign.status = "closed"
    campaign.closed_at = clock.now()
    campaign.closed_by = principal.sub
    campaign.result = result.model_dump(mode="json")
    await session.flush()
    audit.record(
        session, principal, "campaign.closed", "campaign", campaign.id,
        {"status": ["open", "closed"], "result": [None, result.by_status]},
        force_id=campaign.force_id,
    )  # fmt: skip
    return await read(session, principal, campaign_id)


CSV_COLUMNS = ("unit_id", "unit", "total", *ITEM_STATUSES)


def progress_csv(view: CampaignRead) -> str:
    """One line per unit, then the campaign's total (unit `(all)`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = [(u.unit_id, u.unit, u.total, u.by_status) for u in view.progress.by_unit]
    rows.append((None, "(all)", view.progress.total, view.progress.by_status))
    for unit_id, unit, total, by_status in rows:
        values = [unit_id, unit, total, *(by_status[s] for s in ITEM_STATUSES)]
        writer.writerow([safe_cell(v) for v in values])
    return out.getvalue()
