"""Constants and helpers shared by the account API tests."""

from __future__ import annotations

from typing import Any

API = "/api/v1"


def comms(tokens: Any) -> dict[str, str]:
    """A comms admin of staffs: the caller most account tests act as."""
    headers: dict[str, str] = tokens.headers("comms_admin", force="staffs")
    return headers
