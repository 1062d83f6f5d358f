from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from app.accounts.schemas import Classification, Platform


class PublicForce(BaseModel):
    code: str
    name: str


class Verification(BaseModel):
    """The account's public details when it is an active corporate or official account;
    else `verified: false` with `resembles`: up to three such accounts the handle
    imitates (none: an empty list)."""

    verified: bool
    force: PublicForce | None = None
    platform: Platform | None = None
    handle: str | None = None
    display_name: str | None = None
    classification: Classification | None = None
    url: str | None = None
    resembles: list[Resemblance] | None = None


class Resemblance(BaseModel):
    """An active official or corporate account that a handle imitates, and by which rule:
    `confusable` (the same skeleton: look-alike characters, separators or digits),
    `similar` (a small edit distance) or `force_name` (the force's name in the handle)."""

    force: PublicForce
    platform: Platform
    handle: str
    display_name: str
    url: str
    match: Literal["confusable", "similar", "force_name"]


class PublicAccount(BaseModel):
    force: PublicForce
    platform: Platform
    handle: str
    url: str
    display_name: str
    classification: Classification
