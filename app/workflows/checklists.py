"""What must be done between approval and completion, per request kind (SPEC §6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Item:
    name: str
    # Ticked by the service itself (never by hand).
    system: bool = False
    # Whether completion waits for it, given the request's details.
    required: Callable[[dict[str, Any]], bool] = lambda _details: True


OWNER_SIGNED_GUIDELINES = "owner_signed_guidelines"

CHECKLISTS: dict[str, tuple[Item, ...]] = {
    "registration": (),
    "owner_change": (),
    "transfer": (
        Item(OWNER_SIGNED_GUIDELINES, system=True),
        Item("force_admin_access_granted"),
        Item("credentials_in_force_vault"),
        Item("profile_branding_updated"),
    ),
    "decommission": (
        Item("final_post_published"),
        Item("followers_redirected", required=lambda d: d.get("redirect_account_id") is not None),
        Item("content_archived"),
        Item("credentials_revoked"),
        Item("closed_on_platform"),
    ),
}


def item_of(kind: str, name: str) -> Item | None:
    return next((item for item in CHECKLISTS[kind] if item.name == name), None)
