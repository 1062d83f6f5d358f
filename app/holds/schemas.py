from __future__ import annotations

import uuid
from datetime import datetime

from app.schemas import Input, LongText, Name, Output


class HoldCreate(Input):
    case_reference: Name
    reason: LongText


class HoldRead(Output):
    """A legal hold; case reference and reason are shown to PSD and admins only."""

    id: uuid.UUID
    account_id: uuid.UUID
    force: str
    case_reference: str
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    active: bool
