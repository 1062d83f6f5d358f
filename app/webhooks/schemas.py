from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from app.schemas import ForceCode, Input, Output

EventTypeName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^(\*|[a-z][a-z_]*(\.[a-z][a-z_]*)*(\.\*)?)$",
        description="An event type (`request.approved`), a family (`request.*`) or `*`.",
        examples=["request.submitted"],
    ),
]
WebhookURL = Annotated[
    str, Field(min_length=8, max_length=2000, examples=["https://93.184.215.14/registry"])
]
EventTypes = Annotated[list[EventTypeName], Field(min_length=1, max_length=50)]
DeliveryStatus = Literal["pending", "delivered", "dead"]


class WebhookCreate(Input):
    url: WebhookURL
    event_types: EventTypes
    force: ForceCode | None = Field(
        default=None,
        description="Admins: the force whose events it receives (omitted: every force's). "
        "Comms admins: their own force, the default.",
    )


class WebhookUpdate(Input):
    url: Annotated[WebhookURL, Field(default=None)]
    event_types: Annotated[EventTypes, Field(default=None)]
    active: Annotated[bool, Field(default=None)]


class WebhookRead(Output):
    id: uuid.UUID
    force: str | None = Field(description="The force whose events it receives; null: all.")
    url: str
    event_types: list[str]
    active: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (Standard Webhooks `whsec_…`). Shown only here, when "
        "the webhook is made and when the secret is rotated."
    )


class DeliveryRead(Output):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID = Field(description="The event's id: the `webhook-id` header.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="Pending only: the next try.")
    retry_until: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
