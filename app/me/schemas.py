from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from app.accounts.schemas import Classification, Platform, Status
from app.guidelines.schemas import OutstandingSignoff
from app.people.schemas import PersonStatus
from app.schemas import Output


class MyPerson(Output):
    id: uuid.UUID
    staff_id: str
    name: str
    email: str | None
    job_title: str | None
    unit_id: uuid.UUID | None
    status: PersonStatus
    left_on: date | None


class MyAccount(Output):
    id: uuid.UUID
    platform: Platform
    handle: str
    display_name: str
    classification: Classification
    status: Status
    role: Literal["owner", "editor"]


class MeRead(Output):
    sub: str
    name: str | None
    roles: list[str]
    force: str | None
    person: MyPerson | None
    accounts: list[MyAccount]
    outstanding_signoffs: list[OutstandingSignoff]
