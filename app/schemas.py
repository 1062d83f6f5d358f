"""Schemas shared by every domain: problems, references, input conventions."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, cast, get_args

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app.errors import PROBLEM_CONTENT_TYPE


class ProblemError(BaseModel):
    """One thing wrong with the input: where (`loc`, e.g. `["body", "handle"]`; or the
    `line` and `field` of an imported file) and what (`msg`; `type` names the check that
    failed, where there is one)."""

    msg: str
    loc: list[str | int] | None = None
    type: str | None = None
    line: int | None = None
    field: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemError] | None = None
    missing: list[str] | None = Field(
        default=None,
        description="`checklist-incomplete`: the checklist items still to tick, by name.",
    )


_DATES = (
    dt.date,  # and datetime, a subclass
    pydantic.AwareDatetime, pydantic.NaiveDatetime, pydantic.PastDate, pydantic.FutureDate,
    pydantic.PastDatetime, pydantic.FutureDatetime,
)  # fmt: skip
_ISO_DATE_START = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}")


@cache
def _is_date(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, _DATES)
    return any(_is_date(arg) for arg in get_args(annotation))


class Input(BaseModel):
    """Base of every request body: unknown fields are refused, strings are trimmed, and
    dates and times are ISO 8601 strings (SPEC §4)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _dates_are_iso_strings(cls, value: Any, info: ValidationInfo) -> Any:
        # Pydantic would read a number, or a string of digits, as seconds since 1970:
        # -1 would be 1969-12-31.
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            field = cls.model_fields.get(info.field_name or "")
            iso = isinstance(value, str) and _ISO_DATE_START.match(value)
            # Annotations are types or generic aliases, all hashable (TypeForm does not say).
            if field is not None and _is_date(cast(Hashable, field.annotation)) and not iso:
                raise ValueError("must be an ISO 8601 date or date-time string")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # Pydantic would also read 0, 1, "no" or "on" as a boolean; the document says
        # boolean, so only true and false are.
        field = cls.model_fields.get(info.field_name or "")
        if field is None or value is None or isinstance(value, bool):
            return value
        annotation: Any = field.annotation
        if _scalar_kinds(annotation) == {bool}:
            raise ValueError("must be true or false")
        return value


@cache
def _scalar_kinds(annotation: Any) -> frozenset[type]:
    if annotation in (bool, int, float, str):
        return frozenset({annotation})
    return frozenset(kind for arg in get_args(annotation) for kind in _scalar_kinds(arg))


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PersonRef(Output):
    """A person inside another object; `name` is absent where the caller may not see it."""

    id: uuid.UUID
    name: str | None = None


# Text without control characters (NUL included); lengths per SPEC §5.
_NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


# What str.strip() removes, spelled out: `\s` means one set in JSON Schema (ECMA-262) and
# another in pydantic's engine (U+0085 is a space to one and not the other).
SPACES = r"\x09-\x0d\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def filled(allowed: str = r"^\x00-\x08\x0b\x0c\x0e-\x1f\x7f") -> str:
    """A pattern for text of the `allowed` class with at least one non-space: bodies are
    trimmed, so text of spaces alone would arrive empty (no look-arounds: pydantic's
    regex engine has none)."""
    return rf"^[{allowed}]*[^{SPACES}\x00-\x1f\x7f][{allowed}]*$"


Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=filled())]
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=_NO_CONTROL)]
LongText = Annotated[str, StringConstraints(max_length=4000, pattern=_NO_CONTROL)]
Code = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
ForceCode = Annotated[
    str, StringConstraints(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
Url = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=2048, pattern=rf"^https?://[^{SPACES}\x00-\x1f\x7f]+$"
    ),
]

_ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?")


def _iso_only(value: Any) -> Any:
    # Pydantic also reads "1700000000" or "0.5" as Unix times; an instant here is ISO 8601.
    if isinstance(value, str) and not _ISO_DATE_TIME.fullmatch(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-25T09:30:00Z")
    return value


# Bounds of instants in queries. At the calendar's edges a zone offset pushes an instant
# out of the representable years (9999-12-31T23:59:59-14:00 is in the year 10000 in UTC):
# that is invalid input (422), never a crash.
INSTANT_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
INSTANT_MAX = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
# Dates and instants of social media activity and of guidelines: no platform predates 2000.
RECORD_MIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
RECORD_MAX = dt.datetime(2100, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_within(low: dt.datetime, high: dt.datetime) -> Any:
    """An AfterValidator: the instant in UTC, refused outside [low, high]."""

    def check(value: dt.datetime) -> dt.datetime:
        try:
            utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        except OverflowError:
            utc = None
        if utc is None or not low <= utc <= high:
            raise ValueError(f"must be between {_stamp(low)} and {_stamp(high)}")
        return utc

    return AfterValidator(check)


@dataclass(frozen=True)
class FormatBounds:
    """States a date or date-time string's bounds in the document, as formatMinimum and
    formatMaximum (JSON Schema's format bounds)."""

    low: str
    high: str

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        schema = handler(core_schema)
        schema.update(formatMinimum=self.low, formatMaximum=self.high)
        return schema


# A query-string instant: ISO 8601 only; without a zone it is UTC.
Instant = Annotated[
    dt.datetime,
    BeforeValidator(_iso_only),
    utc_within(INSTANT_MIN, INSTANT_MAX),
    FormatBounds(_stamp(INSTANT_MIN), _stamp(INSTANT_MAX)),
]
# An instant of a record in a body: ISO 8601 with a zone, kept in UTC.
RecordInstant = Annotated[
    pydantic.AwareDatetime,
    utc_within(RECORD_MIN, RECORD_MAX),
    FormatBounds(_stamp(RECORD_MIN), _stamp(RECORD_MAX)),
]
# A day of social media activity or of a guideline's life.
RecordDate = Annotated[
    dt.date,
    Field(ge=RECORD_MIN.date(), le=RECORD_MAX.date()),
    FormatBounds(RECORD_MIN.date().isoformat(), RECORD_MAX.date().isoformat()),
]
# A day in someone's service (a leaving date).
SERVICE_MIN = dt.date(1900, 1, 1)
ServiceDate = Annotated[
    dt.date,
    Field(ge=SERVICE_MIN, le=RECORD_MAX.date()),
    FormatBounds(SERVICE_MIN.isoformat(), RECORD_MAX.date().isoformat()),
]

_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON).",
    401: "Missing, invalid or expired bearer token.",
    403: "The caller's role may not do this (`mixed-roles`: the token holds auditor "
    "together with a force role).",
    404: "No such object in the caller's scope.",
    409: "Conflicts with the current state.",
    412: "If-Match names a version that is no longer current.",
    413: "Body too large.",
    422: "Invalid input.",
    428: "If-Match is required.",
    429: "Rate limited; see Retry-After.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the problem statuses a route can answer."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, "Error."),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


# Every authenticated route can answer these.
AUTH_ERRORS = (401, 403, 422)
