"""The event catalogue: every event type the registry emits, with what its `subject` and
`data` carry. Webhook subscriptions name these types (or `prefix.*`, or `*`).

Events carry ids, statuses and dates — never a person's name, e-mail or staff id, a legal
hold's case reference or reason, or a request's free-text reason or comments. A person id
appears only where every subscriber may resolve it (a force's comms admins and national
admins read every person record of the force); an event about an anonymous account
carries no operator id at all.
"""

from __future__ import annotations

import re

# type -> (subject keys, data keys, when)
EVENT_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {}

TYPE_PATTERN = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")


def define(type: str, subject: tuple[str, ...], data: tuple[str, ...], when: str) -> None:
    if not TYPE_PATTERN.match(type):
        raise ValueError(f"event types are dotted lower-case names, not {type!r}")
    EVENT_TYPES[type] = (subject, data, when)


_REQUEST = ("request_id", "account_id")
for _move, _when in (
    ("submitted", "a request is opened (by the API, a declaration or an owner's review)"),
    ("approved", "a request is approved (four eyes)"),
    ("rejected", "a request is rejected"),
    ("withdrawn", "the requester withdraws a request"),
    ("cancelled", "an approved request is cancelled"),
    ("completed", "a request is completed (or applied on approval)"),
):
    define(f"request.{_move}", _REQUEST, ("kind", "status"), _when)
define("request.checklist_ticked", _REQUEST, ("kind", "item"), "a checklist item is ticked")
define(
    "account.registered", ("account_id",), ("platform", "classification", "status", "via"),
    "an account enters the registry: recorded by comms (`via: direct`) or its registration "
    "request approved (`via: request`, with `request_id` in the subject)",
)  # fmt: skip
define(
    "account.transferred", ("account_id", "request_id"), ("classification", "status"),
    "an unofficial account is brought into official oversight",
)  # fmt: skip
define(
    "account.decommissioned", ("account_id", "request_id"), ("status",),
    "an account's decommission is completed",
)  # fmt: skip
define(
    "account.owner_changed", ("account_id",), ("owner_id", "previous_owner_id"),
    "the account's owner changes (ids omitted for anonymous accounts)",
)  # fmt: skip
define("person.left", ("person_id",), ("left_on",), "a person is marked as a leaver")
define("hold.placed", ("account_id", "hold_id"), (), "PSD place a legal hold (no case details)")
define("hold.released", ("account_id", "hold_id"), (), "a legal hold is released")
define(
    "flag.raised", ("account_id",), ("flag",),
    "the daily evaluation finds a flag on an account that it did not have",
)  # fmt: skip
define(
    "flag.cleared", ("account_id",), ("flag",),
    "the daily evaluation finds a flag gone",
)  # fmt: skip
define(
    "signoff.due", ("person_id", "guideline_id"), ("due_on",),
    "an operator's sign-off of the current guidelines falls due within 7 days",
)  # fmt: skip
define(
    "signoff.overdue", ("person_id", "guideline_id"), ("due_on",),
    "an operator's sign-off is past its grace period",
)  # fmt: skip
define(
    "review.due", ("account_id",), ("review_due_on",),
    "an account's periodic review falls due within 30 days",
)  # fmt: skip
define(
    "review.overdue", ("account_id",), ("review_due_on",),
    "an account's periodic review date has passed",
)  # fmt: skip
define("webhook.ping", ("webhook_id",), (), "`POST /webhooks/{id}/ping` (to that webhook only)")


def matches(subscribed: list[str], type: str) -> bool:
    """Whether a subscription's event types take `type` (`*` all, `campaign.*` a family)."""
    for wanted in subscribed:
        if wanted == "*" or wanted == type:
            return True
        if wanted.endswith(".*") and type.startswith(wanted[:-1]):
            return True
    return False


def known(wanted: str) -> bool:
    """A subscription entry that names something: a known type, `*`, or `family.*` (the
    families of types added later, such as `campaign.*`)."""
    if wanted == "*" or wanted in EVENT_TYPES:
        return True
    return wanted.endswith(".*") and TYPE_PATTERN.match(wanted[:-2] + ".x") is not None
