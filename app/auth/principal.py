from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from app.errors import Forbidden

NATIONAL_ROLES = frozenset({"auditor", "admin"})
FORCE_ROLES = frozenset({"staff", "comms_admin", "psd", "collector"})
# `admin` may do everything everywhere, so it may come with any role. `auditor` is national
# but read-only and redacted: with a force-scoped role beside it, "is the caller national?"
# would hand the force role's powers to every force. Such a token is refused, never split.
MIXABLE_NATIONAL_ROLES = frozenset({"admin"})


class MixedRoles(Forbidden):
    code = "mixed-roles"
    title = "Mixed national and force roles"


def check_roles(roles: Iterable[str]) -> None:
    """Refuse a role set that mixes a national role (other than admin) with a force role."""
    held = frozenset(roles)
    if held & MIXABLE_NATIONAL_ROLES:
        return
    national = sorted(held & NATIONAL_ROLES)
    scoped = sorted(held & FORCE_ROLES)
    if national and scoped:
        raise MixedRoles(
            f"The token holds the national role {', '.join(national)} together with the "
            f"force role {', '.join(scoped)}. National and force roles are not combined in "
            "one token: use a separate sign-in for each."
        )


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: who, with which roles, acting in which force.

    A principal never mixes a national role (auditor) with a force-scoped one: building
    one raises `MixedRoles`, so no route can be reached by such a caller."""

    sub: str
    name: str | None
    roles: frozenset[str]
    force: str | None
    force_id: uuid.UUID | None

    def __post_init__(self) -> None:
        check_roles(self.roles)

    @property
    def is_national(self) -> bool:
        """National callers (auditor, admin) see every force."""
        return bool(self.roles & NATIONAL_ROLES)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def caller_key(self) -> str:
        return f"{self.force or '*'}:{self.sub}"
