from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, cast

from pydantic import Field

from app.models import Unit
from app.schemas import ForceCode, Input, Name, Output

UnitKind = Literal["hq", "borough", "neighbourhood_team", "department", "specialist", "other"]


class UnitCreate(Input):
    name: Name
    kind: UnitKind
    parent_id: uuid.UUID | None = None
    force: ForceCode | None = Field(
        default=None, description="National callers name the force; others may omit it."
    )


class UnitUpdate(Input):
    # `Field(default=None)` without `| None`: the field may be omitted, but an explicit
    # null is refused (a unit always has a name and a kind).
    name: Annotated[Name, Field(default=None)]
    kind: Annotated[UnitKind, Field(default=None)]
    parent_id: uuid.UUID | None = None


class UnitRead(Output):
    id: uuid.UUID
    force: str
    name: str
    kind: UnitKind
    parent_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, unit: Unit, force: str) -> UnitRead:
        return cls(
            id=unit.id,
            force=force,
            name=unit.name,
            kind=cast(UnitKind, unit.kind),  # the column CHECKs it against UNIT_KINDS
            parent_id=unit.parent_id,
            version=unit.version,
            created_at=unit.created_at,
            updated_at=unit.updated_at,
        )
