"""Schemas shared by every domain: problems, references, input conventions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.errors import PROBLEM_CONTENT_TYPE


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


class Input(BaseModel):
    """Base of every request body: unknown fields are refused, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PersonRef(Output):
    """A person inside another object; `name` is absent where the caller may not see it."""

    id: uuid.UUID
    name: str | None = None


# Text without control characters (NUL included); lengths per SPEC §5.
_NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_CONTROL)]
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=_NO_CONTROL)]
LongText = Annotated[str, StringConstraints(max_length=4000, pattern=_NO_CONTROL)]
Code = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
ForceCode = Annotated[
    str, StringConstraints(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
Url = Annotated[
    str, StringConstraints(min_length=1, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f]+$")
]

_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON).",
    401: "Missing, invalid or expired bearer token.",
    403: "The caller's role may not do this.",
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
