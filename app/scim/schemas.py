from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.schemas import Input, Output, filled

CredentialName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=filled(r"^\x00-\x1f\x7f"))
]


class ScimCredentialCreate(Input):
    name: CredentialName = Field(description="What the credential is for, e.g. `entra-id`.")


class ScimCredentialRead(Output):
    id: uuid.UUID
    name: str
    created_at: datetime
    created_by: str
    rotated_at: datetime | None
    revoked_at: datetime | None


class ScimCredentialSecret(Output):
    """The secret is shown this once: only its hash is kept."""

    id: uuid.UUID
    name: str
    secret: str = Field(description="The bearer secret for /scim/v2; shown only now.")
