from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.schemas import Output


class AuditEventRead(Output):
    id: int
    at: datetime
    actor_sub: str
    actor_roles: list[str]
    actor_force: str | None
    force_id: uuid.UUID | None
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]
    request_id: str | None
    prev_hash: str
    hash: str


class VerifyRead(Output):
    ok: bool
    events_checked: int
    first_broken_id: int | None
