"""Review campaigns: create, list, progress (JSON or CSV), close."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.campaigns import service
from app.campaigns.schemas import CampaignCreate, CampaignRead, CampaignSummary
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

Manager = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The campaign with its progress; `Accept: text/csv`: one line per unit.",
    }
}


@router.post(
    "", status_code=201, response_model=CampaignRead, responses=errors(*AUTH_ERRORS, 404, 409)
)
async def create_campaign(
    body: CampaignCreate, session: Session, principal: Manager, key: IdempotencyKey = None
) -> Response:
    """Start a review campaign (comms_admin, admin): every active or suspended account the
    filter matches now needs its owner's attestation before `due_on`."""

    async def create() -> tuple[CampaignRead, str]:
        campaign = await service.create(session, principal, body)
        return await service.read(
            session, principal, campaign.id
        ), f"/api/v1/campaigns/{campaign.id}"

    return await idempotent(session, principal, key, fingerprint("campaigns", body), create)


@router.get("", response_model=Page[CampaignSummary], responses=errors(*AUTH_ERRORS, 404))
async def list_campaigns(
    session: Session,
    principal: Manager,
    force: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[CampaignSummary]:
    """Campaigns of the caller's force (admin: every force, or `?force=`), newest first."""
    items, next_cursor = await service.page(session, principal, force, cursor, limit)
    return Page[CampaignSummary](items=items, next_cursor=next_cursor)


@router.get(
    "/{campaign_id}",
    response_model=CampaignRead,
    responses={**errors(*AUTH_ERRORS, 404), **CSV_RESPONSE},
)
async def get_campaign(
    campaign_id: uuid.UUID, request: Request, session: Session, principal: Manager
) -> Any:
    """A campaign and its progress: `total`, `by_status`, `by_unit`; `Accept: text/csv`
    answers the progress per unit as CSV."""
    view = await service.read(session, principal, campaign_id)
    if "text/csv" in request.headers.get("accept", ""):
        return Response(
            service.progress_csv(view),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'},
        )
    return view


@router.post(
    "/{campaign_id}/close", response_model=CampaignRead, responses=errors(*AUTH_ERRORS, 404, 409)
)
async def close_campaign(
    campaign_id: uuid.UUID, session: Session, principal: Manager
) -> CampaignRead:
    """Close an open campaign, recording its result (the progress at closing)."""
    return await service.close(session, principal, campaign_id)
