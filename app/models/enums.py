"""Every closed vocabulary of the registry, shared by models, schemas and rules."""

from __future__ import annotations

PLATFORMS = (
    "x", "facebook", "instagram", "youtube", "tiktok", "threads", "linkedin",
    "nextdoor", "bluesky", "mastodon", "snapchat", "flickr", "other",
)  # fmt: skip
CLASSIFICATIONS = ("corporate", "official", "unofficial")
ACCOUNT_STATUSES = (
    "pending_approval", "active", "suspended", "decommissioning", "decommissioned", "rejected",
)  # fmt: skip
# Statuses whose (platform, handle) no longer blocks a new registration.
RELEASED_STATUSES = ("decommissioned", "rejected")
UNIT_KINDS = ("hq", "borough", "neighbourhood_team", "department", "specialist", "other")
PERSON_STATUSES = ("active", "left")
CUSTODIAN_ROLES = ("owner", "editor")
REQUEST_KINDS = ("registration", "transfer", "decommission", "owner_change")
REQUEST_STATUSES = ("submitted", "approved", "completed", "rejected", "withdrawn", "cancelled")
OPEN_REQUEST_STATUSES = ("submitted", "approved")
DECOMMISSION_REASONS = (
    "dormant", "duplicate", "centralised", "owner_left", "policy_breach", "compromised", "other",
)  # fmt: skip
FLAGS = (
    "dormant", "broadcast_only", "repost_heavy", "orphaned", "guidelines_outstanding",
    "no_strategy_link", "review_overdue", "unsanctioned", "imitates_official",
)  # fmt: skip
ROLES = ("staff", "comms_admin", "psd", "collector", "auditor", "admin")
NATIONAL_ROLES = ("auditor", "admin")
