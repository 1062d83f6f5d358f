"""The request workflow's states and moves, as data (SPEC §6).

submitted → approved → completed; submitted → rejected | withdrawn; approved → cancelled.
Every other move is refused with 409 `invalid-transition`.
"""

from __future__ import annotations

from dataclasses import dataclass

SUBMITTED = "submitted"
APPROVED = "approved"
COMPLETED = "completed"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
CANCELLED = "cancelled"

OPEN = frozenset({SUBMITTED, APPROVED})
FINAL = frozenset({COMPLETED, REJECTED, WITHDRAWN, CANCELLED})


@dataclass(frozen=True)
class Move:
    action: str
    source: str
    target: str
    # Roles that may make the move at all (the requester rule for withdraw is separate).
    roles: frozenset[str]
    # The requester may never make it (four eyes).
    four_eyes: bool = False
    comment_required: bool = False


DECIDERS = frozenset({"comms_admin", "admin"})

MOVES: dict[str, Move] = {
    "approve": Move("approve", SUBMITTED, APPROVED, DECIDERS, four_eyes=True),
    "reject": Move("reject", SUBMITTED, REJECTED, DECIDERS, four_eyes=True, comment_required=True),
    "withdraw": Move("withdraw", SUBMITTED, WITHDRAWN, frozenset({"staff", *DECIDERS})),
    "cancel": Move("cancel", APPROVED, CANCELLED, DECIDERS),
    "complete": Move("complete", APPROVED, COMPLETED, DECIDERS, four_eyes=True),
}

# Kinds whose approval applies everything there is to apply: an empty checklist would
# leave an open request blocking the account for no work, and cancelling it could not
# undo what approval did, so approval completes them in the same transaction.
COMPLETE_ON_APPROVAL = frozenset({"registration", "owner_change"})
