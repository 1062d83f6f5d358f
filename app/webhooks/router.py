from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.concurrency import etag
from app.models import Webhook, WebhookDelivery
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.schemas import AUTH_ERRORS, ForceCode, errors
from app.webhooks import service
from app.webhooks.schemas import (
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Keeper = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]


def _read(hook: Webhook) -> WebhookRead:
    return WebhookRead(
        id=hook.id, force=hook.force_code, url=hook.url, event_types=hook.event_types,
        active=hook.active, created_by=hook.created_by, created_at=hook.created_at,
        updated_at=hook.updated_at, version=hook.version,
    )  # fmt: skip


def _created(hook: Webhook) -> WebhookCreated:
    return WebhookCreated(**_read(hook).model_dump(), secret=hook.secret)


def _delivery(row: WebhookDelivery, type_: str) -> DeliveryRead:
    return DeliveryRead(**service.delivery_fields(row, type_))


@router.post(
    "", status_code=201, response_model=WebhookCreated, responses=errors(*AUTH_ERRORS, 404)
)
async def create_webhook(
    body: WebhookCreate, session: Session, principal: Keeper, response: Response
) -> WebhookCreated:
    """Subscribe an https endpoint to the force's events; the signing secret is shown once."""
    hook = await service.create(session, principal, body)
    response.headers["Location"] = f"/api/v1/webhooks/{hook.id}"
    response.headers["ETag"] = etag(hook.version)
    return _created(hook)


@router.get("", response_model=Page[WebhookRead], responses=errors(*AUTH_ERRORS, 404))
async def list_webhooks(
    session: Session,
    principal: Keeper,
    force: Annotated[ForceCode | None, Query(description="Admins: only this force's.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[WebhookRead]:
    """The webhooks the caller keeps (comms admins: their force's), newest first."""
    hooks, next_cursor = await service.page(session, principal, force, cursor, limit)
    return Page[WebhookRead](items=[_read(h) for h in hooks], next_cursor=next_cursor)


@router.get("/{webhook_id}", response_model=WebhookRead, responses=errors(*AUTH_ERRORS, 404))
async def get_webhook(
    webhook_id: uuid.UUID, session: Session, principal: Keeper, response: Response
) -> WebhookRead:
    """One webhook (without its secret); its ETag guards edits."""
    hook = await service.get(session, principal, webhook_id)
    response.headers["ETag"] = etag(hook.version)
    return _read(hook)


@router.patch(
    "/{webhook_id}",
    response_model=WebhookRead,
    responses=errors(*AUTH_ERRORS, 404, 412, 428),
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    session: Session,
    principal: Keeper,
    response: Response,
    if_match: IfMatch = None,
) -> WebhookRead:
    """Change a webhook's URL, event types or whether it is active (If-Match required)."""
    hook = await service.update(session, principal, webhook_id, body, if_match)
    response.headers["ETag"] = etag(hook.version)
    return _read(hook)


@router.delete("/{webhook_id}", status_code=204, responses=errors(*AUTH_ERRORS, 404))
async def delete_webhook(webhook_id: uuid.UUID, session: Session, principal: Keeper) -> Response:
    """Remove a webhook and its delivery log; nothing more is sent to it."""
    await service.delete(session, principal, webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/ping",
    status_code=202,
    response_model=DeliveryRead,
    responses=errors(*AUTH_ERRORS, 404),
)
async def ping_webhook(webhook_id: uuid.UUID, session: Session, principal: Keeper) -> DeliveryRead:
    """Queue a signed `webhook.ping` to this webhook; follow it in its deliveries."""
    row, type_ = await service.ping(session, principal, webhook_id)
    return _delivery(row, type_)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookCreated,
    responses=errors(*AUTH_ERRORS, 404),
)
async def rotate_webhook_secret(
    webhook_id: uuid.UUID, session: Session, principal: Keeper, response: Response
) -> WebhookCreated:
    """A new signing secret, shown once; the old one stops signing at once."""
    hook = await service.rotate_secret(session, principal, webhook_id)
    response.headers["ETag"] = etag(hook.version)
    return _created(hook)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[DeliveryRead],
    responses=errors(*AUTH_ERRORS, 404),
)
async def list_webhook_deliveries(
    webhook_id: uuid.UUID,
    session: Session,
    principal: Keeper,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeliveryRead]:
    """The webhook's delivery log, newest first: attempts, answers, errors, dead letters."""
    rows, next_cursor = await service.deliveries(
        session, principal, webhook_id, status, cursor, limit
    )
    return Page[DeliveryRead](items=[_delivery(d, t) for d, t in rows], next_cursor=next_cursor)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryRead,
    responses=errors(*AUTH_ERRORS, 404),
)
async def redeliver_webhook_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, session: Session, principal: Keeper
) -> DeliveryRead:
    """Send a delivery again (same event id), due now with a fresh 24 hours of retries."""
    row, type_ = await service.redeliver(session, principal, webhook_id, delivery_id)
    return _delivery(row, type_)
