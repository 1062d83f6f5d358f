"""Request bodies and answers of the workflow routes; `details` validated per kind."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import ValidationFailed
from app.models.enums import DECOMMISSION_REASONS, REQUEST_KINDS, REQUEST_STATUSES
from app.schemas import Code, Input, LongText, Output

RequestKind = Literal["registration", "transfer", "decommission", "owner_change"]
RequestStatus = Literal["submitted", "approved", "completed", "rejected", "withdrawn", "cancelled"]
DecommissionReason = Literal[
    "dormant", "duplicate", "centralised", "owner_left", "policy_breach", "compromised", "other"
]
assert set(RequestKind.__args__) == set(REQUEST_KINDS)  # type: ignore[attr-defined]
assert set(RequestStatus.__args__) == set(REQUEST_STATUSES)  # type: ignore[attr-defined]
assert set(DecommissionReason.__args__) == set(DECOMMISSION_REASONS)  # type: ignore[attr-defined]


class RegistrationDetails(Input):
    pass


class TransferDetails(Input):
    """Each field defaults to the account's current value."""

    owner_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    objectives: list[Code] | None = Field(default=None, max_length=100)


class DecommissionDetails(Input):
    reason_code: DecommissionReason
    redirect_account_id: uuid.UUID | None = None


class OwnerChangeDetails(Input):
    new_owner_id: uuid.UUID


DETAILS: dict[str, type[Input]] = {
    "registration": RegistrationDetails,
    "transfer": TransferDetails,
    "decommission": DecommissionDetails,
    "owner_change": OwnerChangeDetails,
}


def parse_details(kind: str, raw: dict[str, Any]) -> Input:
    """The kind's details model, or a 422 naming each bad field under body.details."""
    try:
        return DETAILS[kind].model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "details", *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors()
        ]
        detail = "; ".join(
            ".".join(str(p) for p in err["loc"]) + ": " + err["msg"] for err in exc.errors()[:5]
        )
        raise ValidationFailed(f"Invalid details for a {kind} request: {detail}", errors) from None


def _details_per_kind(schema: dict[str, Any]) -> None:
    # `details` is checked per kind by parse_details (so its errors name body.details.*);
    # the document states the same rule: one branch per kind, each with its details.
    branches = []
    for kind, model in DETAILS.items():
        details = model.model_json_schema()
        details.pop("title", None)
        branch: dict[str, Any] = {
            "properties": {"kind": {"const": kind}, "details": details},
            "required": ["kind"],
        }
        if details.get("required"):
            branch["required"] = ["kind", "details"]
        branches.append(branch)
    schema["oneOf"] = branches


class RequestCreate(Input):
    model_config = ConfigDict(json_schema_extra=_details_per_kind)

    kind: RequestKind
    account_id: uuid.UUID
    reason: LongText = ""
    details: dict[str, Any] = Field(
        default_factory=dict, max_length=20, description="Per kind: see the branches."
    )


class MoveBody(Input):
    comment: LongText | None = None


class ChecklistUpdate(Input):
    done: bool
    note: LongText | None = None


class DecisionRead(Output):
    action: str
    from_status: str
    to_status: str
    actor: str | None = Field(description="Null where the caller may not see operators.")
    actor_name: str | None
    comment: str | None
    at: datetime


class ChecklistItemRead(Output):
    item: str
    required: bool
    system: bool
    done: bool
    note: str | None
    done_by: str | None
    done_at: datetime | None


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    actor: str | None
    comment: str | None = None


class RequestSummary(Output):
    id: uuid.UUID
    force: str
    kind: RequestKind
    account_id: uuid.UUID
    reason: str
    details: dict[str, Any]
    status: RequestStatus
    requested_by: str | None = Field(
        description="The requester's sign-in subject; null (as are its name and person id) "
        "where the caller may not see the operators of the account, unless it is the caller."
    )
    requested_by_name: str | None
    requested_by_person_id: uuid.UUID | None
    operators_redacted: bool = Field(
        default=False,
        description="True where the caller may not see who runs the account: the request "
        "then names no one but the caller, and `details` carries no person.",
    )
    version: int
    created_at: datetime
    updated_at: datetime


class RequestRead(RequestSummary):
    decisions: list[DecisionRead]
    checklist: list[ChecklistItemRead]
    timeline: list[TimelineEntry]
