from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas import Output


class AuditEventRead(Output):
    id: int
    at: datetime
    actor_sub: str | None = Field(
        description="Null where the event is about people the caller may not see "
        "(their `changes` then carry no person either)."
    )
    actor_roles: list[str]
    actor_force: str | None
    force_id: uuid.UUID | None
    action: str
    entity_type: str
    entity_id: str | None = Field(description="Null for a person the caller may not see.")
    changes: dict[str, Any]
    request_id: str | None
    prev_hash: str
    hash: str


class VerifyRead(Output):
    ok: bool
    events_checked: int
    first_broken_id: int | None
