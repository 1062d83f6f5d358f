from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from app.models import Objective
from app.schemas import Code, ForceCode, Input, Name, Output


class ObjectiveCreate(Input):
    code: Code
    title: Name
    active: bool = True
    force: ForceCode | None = Field(
        default=None, description="National callers name the force; others may omit it."
    )


class ObjectiveUpdate(Input):
    # Omitted is "unchanged"; an explicit null is refused.
    code: Annotated[Code, Field(default=None)]
    title: Annotated[Name, Field(default=None)]
    active: Annotated[bool, Field(default=None)]


class ObjectiveRead(Output):
    id: uuid.UUID
    force: str
    code: str
    title: str
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, objective: Objective, force: str) -> ObjectiveRead:
        return cls(
            id=objective.id,
            force=force,
            code=objective.code,
            title=objective.title,
            active=objective.active,
            version=objective.version,
            created_at=objective.created_at,
            updated_at=objective.updated_at,
        )
