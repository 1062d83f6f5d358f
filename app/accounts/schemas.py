"""Account request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from app.models.enums import ACCOUNT_STATUSES, CLASSIFICATIONS, FLAGS, PLATFORMS
from app.schemas import Code, ForceCode, Input, Output, ShortText, filled

Platform = Literal[PLATFORMS]  # type: ignore[valid-type]
Classification = Literal[CLASSIFICATIONS]  # type: ignore[valid-type]
Status = Literal[ACCOUNT_STATUSES]  # type: ignore[valid-type]
Flag = Literal[FLAGS]  # type: ignore[valid-type]

# Links are parsed by app.accounts.handles (which also takes scheme-less forms like
# `twitter.com/name`), so only the length and printable characters are checked here.
_PRINTABLE = r"^\x00-\x1f\x7f"
LinkText = Annotated[
    str, StringConstraints(min_length=1, max_length=2048, pattern=filled(_PRINTABLE))
]
PlatformText = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=filled(_PRINTABLE))
]
HandleText = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=filled(_PRINTABLE))
]


class AccountFilter(Input):
    """The query parameters of `GET /accounts` as an object: the accounts a bulk request
    or a review campaign is about (every given filter must match)."""

    force: ForceCode | None = Field(
        default=None, description="Force code; national callers may narrow to one force."
    )
    platform: Platform | None = None
    classification: Classification | None = None
    status: Status | None = None
    unit_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    flag: Flag | None = None
    q: ShortText | None = Field(default=None, description="In handle or name.")


class Operator(Output):
    """A person running an account. Where the caller may not see an account's operators
    they are left out altogether (`app.auth.redaction`), never shown by id alone."""

    id: uuid.UUID
    name: str | None = Field(default=None, exclude_if=lambda name: name is None)


def _platform_schema(schema: dict[str, Any]) -> None:
    # The server reads platform names leniently (app.accounts.handles); the document names
    # the fixed list it takes, so that clients send one of them.
    schema["anyOf"] = [{"type": "string", "enum": list(PLATFORMS)}, {"type": "null"}]


class AccountCreate(Input):
    # The account is named by its link, or by platform and handle (or both, agreeing).
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["url"]}, {"required": ["platform", "handle"]}]}
    )

    force: ForceCode | None = Field(
        default=None, description="Force code; national callers only (others act in their own)."
    )
    url: LinkText | None = None
    platform: PlatformText | None = Field(
        default=None,
        description="Case-insensitive; `twitter` is read as `x`.",
        json_schema_extra=_platform_schema,
    )
    handle: HandleText | None = None
    display_name: ShortText = ""
    classification: Classification
    status: Status | None = Field(
        default=None,
        description="Defaults to `active` (comms_admin/admin); staff declarations are always "
        "`pending_approval`.",
    )
    owner_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    objectives: list[Code] = Field(default_factory=list, max_length=100)
    is_anonymous: bool = False
    platform_account_id: ShortText | None = None


class AccountUpdate(Input):
    """Descriptive fields only; status, classification and owner change through requests."""

    # Omitted is "unchanged"; null only where the field may be empty (unit, platform id).
    display_name: Annotated[ShortText, Field(default=None)]
    url: Annotated[LinkText, Field(default=None)]
    platform_account_id: ShortText | None = None
    unit_id: uuid.UUID | None = None
    objectives: Annotated[list[Code], Field(default=None, max_length=100)]
    is_anonymous: Annotated[bool, Field(default=None)]


class EditorAdd(Input):
    person_id: uuid.UUID


class AccountRead(Output):
    id: uuid.UUID
    force: str
    platform: Platform
    handle: str
    url: str
    platform_account_id: str | None
    display_name: str
    classification: Classification
    status: Status
    is_anonymous: bool
    unit_id: uuid.UUID | None
    objectives: list[str]
    owner: Operator | None
    editors: list[Operator]
    operators_redacted: bool = Field(
        default=False,
        description="True where the caller may not see who runs the account: the "
        "operators are then left out (no id, no name).",
    )
    review_due_on: date | None
    last_post_at: datetime | None
    flags: list[Flag]
    legal_hold: bool
    version: int
    created_at: datetime
    updated_at: datetime


class LookupRead(Output):
    items: list[AccountRead]


class CustodiansRead(Output):
    at: datetime
    owner: Operator | None
    editors: list[Operator]
    operators_redacted: bool = Field(
        default=False,
        description="True where the caller may not see who runs the account: the "
        "operators are then left out (no id, no name).",
    )


class HistoryEntry(Output):
    """One event of an account's timeline.

    `custodian`: `role` held by `person` from `valid_from` to `valid_to` (null: still holds);
    `status` / `classification`: the field moved from `old` to `new` by `action` of `actor`.
    Where the caller may not see the account's operators, `person` and `actor` are null.
    """

    at: datetime
    kind: Literal["custodian", "status", "classification"]
    role: str | None = None
    person: Operator | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    old: str | None = None
    new: str | None = None
    action: str | None = None
    actor: str | None = None


class HistoryRead(Output):
    account_id: uuid.UUID
    items: list[HistoryEntry]
    operators_redacted: bool = Field(
        default=False,
        description="True where the caller may not see who runs the account: the "
        "operators are then left out (no id, no name).",
    )


class AccountBrief(Output):
    id: uuid.UUID
    force: str
    platform: Platform
    handle: str
    url: str
    display_name: str
    classification: Classification
    status: Status


class OperatedAccount(Output):
    account: AccountBrief
    role: str
    valid_from: datetime
    valid_to: datetime | None


class PersonAccountsRead(Output):
    person: Operator
    at: datetime
    items: list[OperatedAccount]
