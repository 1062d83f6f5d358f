from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from app.accounts.schemas import LinkText, Platform, Status
from app.public.schemas import PublicAccount, Resemblance
from app.schemas import Input, Output

MAX_CHECK_URLS = 500


class ImitatingAccount(Output):
    """A live unofficial account of the registry whose handle has an official account's
    skeleton."""

    id: uuid.UUID
    force: str
    platform: Platform
    handle: str
    status: Status


class AccountLookalikes(Output):
    account_id: uuid.UUID
    resembles: list[Resemblance]
    imitated_by: list[ImitatingAccount]


class LookalikeCheck(Input):
    urls: list[LinkText] = Field(min_length=1, max_length=MAX_CHECK_URLS)


class CheckedUrl(BaseModel):
    """`verified` (an active official or corporate account: `account`), `imitates` (not
    official, resembling the accounts in `resembles`), `unknown` (neither), or `invalid`
    (not a social media address: `error`)."""

    url: str
    status: Literal["verified", "imitates", "unknown", "invalid"]
    account: PublicAccount | None = None
    resembles: list[Resemblance] = []
    error: str | None = None


class CheckResult(BaseModel):
    items: list[CheckedUrl]
