from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.models.enums import NATIONAL_ROLES


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: who, with which roles, acting in which force."""

    sub: str
    name: str | None
    roles: frozenset[str]
    force: str | None
    force_id: uuid.UUID | None

    @property
    def is_national(self) -> bool:
        """National callers (auditor, admin) see every force."""
        return bool(self.roles & set(NATIONAL_ROLES))

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def caller_key(self) -> str:
        return f"{self.force or '*'}:{self.sub}"
