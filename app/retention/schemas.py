from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.people.schemas import PersonRead
from app.schemas import Output


class CustodyInterval(Output):
    account_id: uuid.UUID
    role: str
    valid_from: datetime
    valid_to: datetime | None


class ExportedSignoff(Output):
    id: uuid.UUID
    guideline_id: uuid.UUID
    version: int
    sha256: str
    signed_at: datetime


class ExportedAttestation(Output):
    id: uuid.UUID
    account_id: uuid.UUID
    still_needed: bool
    note: str | None
    at: datetime


class ExportedRequest(Output):
    id: uuid.UUID
    kind: str
    account_id: uuid.UUID
    status: str
    reason: str
    created_at: datetime


class ExportedAuditEvent(Output):
    id: int
    at: datetime
    actor_sub: str
    actor_roles: list[str]
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]


class PersonExport(Output):
    """Everything the registry holds about one person (a subject access request)."""

    person: PersonRead
    custody: list[CustodyInterval]
    signoffs: list[ExportedSignoff]
    attestations: list[ExportedAttestation]
    requests: list[ExportedRequest]
    audit_events: list[ExportedAuditEvent]
