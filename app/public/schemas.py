from __future__ import annotations

from pydantic import BaseModel


class PublicForce(BaseModel):
    code: str
    name: str


class Verification(BaseModel):
    """`{"verified": false}`, or the account's public details when it is an active
    corporate or official account."""

    verified: bool
    force: PublicForce | None = None
    platform: str | None = None
    handle: str | None = None
    display_name: str | None = None
    classification: str | None = None


class PublicAccount(BaseModel):
    force: PublicForce
    platform: str
    handle: str
    url: str
    display_name: str
    classification: str
