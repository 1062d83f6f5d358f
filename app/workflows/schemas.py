"""Request bodies and answers of the workflow routes; `details` validated per kind."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from pydantic import (
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict

from app.errors import ValidationFailed
from app.models.enums import DECOMMISSION_REASONS, REQUEST_KINDS, REQUEST_STATUSES
from app.schemas import Code, Input, LongText, Output
from app.workflows.checklists import CHECKLISTS

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


class _RequestCreateBase(BaseModel):
    # Input's rules, less its before-validators (no date or boolean field here), which a
    # discriminator field may not have.
    model_config = Input.model_config

    account_id: uuid.UUID
    reason: LongText = ""


class RegistrationRequestCreate(_RequestCreateBase):
    """Bring an account into official oversight (its details are empty)."""

    kind: Literal["registration"]
    details: RegistrationDetails = Field(default_factory=RegistrationDetails)


class TransferRequestCreate(_RequestCreateBase):
    """Make an account official under a new owner, unit or objectives."""

    kind: Literal["transfer"]
    details: TransferDetails = Field(default_factory=TransferDetails)


class DecommissionRequestCreate(_RequestCreateBase):
    """Close an account: why, and where its followers go."""

    kind: Literal["decommission"]
    details: DecommissionDetails


class OwnerChangeRequestCreate(_RequestCreateBase):
    """Hand an account to another owner."""

    kind: Literal["owner_change"]
    details: OwnerChangeDetails


# One schema per kind, told apart by `kind`: generated clients get one type for each.
RequestCreate = Annotated[
    RegistrationRequestCreate | TransferRequestCreate | DecommissionRequestCreate
    | OwnerChangeRequestCreate,
    Field(discriminator="kind"),
]  # fmt: skip


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


def _items(name: str, kinds: tuple[str, ...]) -> type[StrEnum]:
    names = dict.fromkeys(item.name for kind in kinds for item in CHECKLISTS[kind])
    return StrEnum(name, {n: n for n in names})  # type: ignore[return-value]


# The checklist items of each kind (SPEC §6), and every item of any kind (the path of
# set_checklist_item: an item of another kind than the request's is a 404).
if TYPE_CHECKING:
    # Their members are made from CHECKLISTS at import; to a checker each is a StrEnum.
    ChecklistItem = StrEnum
    TransferChecklistItem = StrEnum
    DecommissionChecklistItem = StrEnum
else:
    ChecklistItem = _items("ChecklistItem", tuple(CHECKLISTS))
    TransferChecklistItem = _items("TransferChecklistItem", ("transfer",))
    DecommissionChecklistItem = _items("DecommissionChecklistItem", ("decommission",))


class _ChecklistEntry(Output):
    required: bool
    system: bool = Field(description="Ticked by the registry itself, never by hand.")
    done: bool
    note: str | None
    done_by: str | None
    done_at: datetime | None


class ChecklistItemRead(_ChecklistEntry):
    item: ChecklistItem


class TransferChecklistItemRead(_ChecklistEntry):
    item: TransferChecklistItem


class DecommissionChecklistItemRead(_ChecklistEntry):
    item: DecommissionChecklistItem


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    actor: str | None
    comment: str | None = None


# The details a request answers with: as submitted, less every person where the caller may
# not see who runs the account (`operators_redacted`); a field not given is absent.
class RegistrationDetailsRead(TypedDict):
    pass


class TransferDetailsRead(TypedDict, total=False):
    owner_id: uuid.UUID
    unit_id: uuid.UUID
    objectives: list[str]


class DecommissionDetailsRead(TypedDict):
    reason_code: DecommissionReason
    redirect_account_id: NotRequired[uuid.UUID]


class OwnerChangeDetailsRead(TypedDict):
    new_owner_id: NotRequired[uuid.UUID]


class _RequestSummaryBase(Output):
    id: uuid.UUID
    force: str
    account_id: uuid.UUID
    reason: str
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


class RegistrationRequestSummary(_RequestSummaryBase):
    kind: Literal["registration"]
    details: RegistrationDetailsRead


class TransferRequestSummary(_RequestSummaryBase):
    kind: Literal["transfer"]
    details: TransferDetailsRead


class DecommissionRequestSummary(_RequestSummaryBase):
    kind: Literal["decommission"]
    details: DecommissionDetailsRead


class OwnerChangeRequestSummary(_RequestSummaryBase):
    kind: Literal["owner_change"]
    details: OwnerChangeDetailsRead


RequestSummary = Annotated[
    RegistrationRequestSummary | TransferRequestSummary | DecommissionRequestSummary
    | OwnerChangeRequestSummary,
    Field(discriminator="kind"),
]  # fmt: skip


class _RequestReadExtras(BaseModel):
    decisions: list[DecisionRead]
    timeline: list[TimelineEntry]


class RegistrationRequestRead(RegistrationRequestSummary, _RequestReadExtras):
    checklist: list[ChecklistItemRead] = Field(max_length=0, description="None for this kind.")


class TransferRequestRead(TransferRequestSummary, _RequestReadExtras):
    checklist: list[TransferChecklistItemRead]


class DecommissionRequestRead(DecommissionRequestSummary, _RequestReadExtras):
    checklist: list[DecommissionChecklistItemRead]


class OwnerChangeRequestRead(OwnerChangeRequestSummary, _RequestReadExtras):
    checklist: list[ChecklistItemRead] = Field(max_length=0, description="None for this kind.")


# A request with its decisions, checklist and timeline; one schema per kind.
RequestRead = Annotated[
    RegistrationRequestRead | TransferRequestRead | DecommissionRequestRead
    | OwnerChangeRequestRead,
    Field(discriminator="kind"),
]  # fmt: skip
SUMMARY: TypeAdapter[RequestSummary] = TypeAdapter(RequestSummary)
READ: TypeAdapter[RequestRead] = TypeAdapter(RequestRead)
