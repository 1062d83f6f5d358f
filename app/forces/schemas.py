from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.schemas import ForceCode, Input, Name, Output


class ForceCreate(Input):
    code: ForceCode
    name: Name
    dormancy_days: int = Field(default=90, ge=1, le=3650)
    review_interval_days: int = Field(default=365, ge=1, le=3650)
    signoff_grace_days: int = Field(default=30, ge=0, le=365)


class ForceUpdate(Input):
    name: Name | None = None
    dormancy_days: int | None = Field(default=None, ge=1, le=3650)
    review_interval_days: int | None = Field(default=None, ge=1, le=3650)
    signoff_grace_days: int | None = Field(default=None, ge=0, le=365)


class ForceRead(Output):
    id: uuid.UUID
    code: str
    name: str
    dormancy_days: int
    review_interval_days: int
    signoff_grace_days: int
    version: int
    created_at: datetime
    updated_at: datetime


class ForceRef(Output):
    code: str
    name: str
