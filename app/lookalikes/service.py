"""Look-alike detection: which active official or corporate accounts a handle imitates.

The rules are in app.lookalikes.skeleton; candidates come from the public accounts only
(app.lookalikes.repository), so an unofficial, pending or closed account is never named.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import handles
from app.accounts.errors import AccountNotFound
from app.auth.principal import Principal
from app.db import Database, fetch_rows
from app.lookalikes import repository, skeleton
from app.lookalikes.schemas import (
    AccountLookalikes,
    CheckedUrl,
    CheckResult,
    ImitatingAccount,
)
from app.models import Account, Force
from app.models.enums import RELEASED_STATUSES
from app.public import repository as public_repository
from app.public.schemas import PublicAccount, PublicForce, Resemblance

MAX_RESEMBLES = 3
_RULE_ORDER = {"confusable": 0, "similar": 1, "force_name": 2}


def spellings(url: str, handle: str) -> list[str]:
    """The handle as normalised and, where the link shows it, as written (its case is
    part of the skeleton: a capital `I` looks like an `l`)."""
    lowered = url.lower()
    at = lowered.rfind(handle)
    written = url[at : at + len(handle)] if at >= 0 and len(lowered) == len(url) else handle
    return [handle] if written == handle else [handle, written]


def _resemblance(row: Mapping[str, Any], match: str) -> Resemblance:
    return Resemblance(
        force=PublicForce(code=row["force_code"], name=row["force_name"]),
        platform=row["platform"],
        handle=row["handle"],
        display_name=row["display_name"],
        url=row["url"],
        match=match,  # type: ignore[arg-type]
    )


def public_account(row: Mapping[str, Any]) -> PublicAccount:
    return PublicAccount(
        force=PublicForce(code=row["force_code"], name=row["force_name"]),
        platform=row["platform"],
        handle=row["handle"],
        url=row["url"],
        display_name=row["display_name"],
        classification=row["classification"],
    )


async def resembles(
    source: AsyncSession | Database,
    platform: str,
    written: Sequence[str],
    *,
    exclude: uuid.UUID | None = None,
    forces: Sequence[Mapping[str, Any]] | None = None,
) -> list[Resemblance]:
    """Up to three public accounts the handle (in its spellings) imitates, best first:
    by rule (confusable, similar, force name), then edit distance, the same platform
    before others, then handle."""
    spelled = sorted(skeleton.forms_of(*written), key=lambda f: f != skeleton.forms(written[0]))
    spelled = [f for f in spelled if f.key]
    if not spelled:
        return []
    found: dict[Any, tuple[tuple[Any, ...], Resemblance]] = {}

    def keep(row: Mapping[str, Any], match: str, distance: int) -> None:
        if row["id"] == exclude or row["id"] in found:
            return
        rank = (_RULE_ORDER[match], distance, row["platform"] != platform, row["handle"])
        found[row["id"]] = (rank, _resemblance(row, match))

    for row in await repository.candidates(source, spelled):
        official = skeleton.Forms(row["lookalike_key"], row["lookalike_stem"])
        if any(skeleton.same(f, official) for f in spelled):
            keep(row, "confusable", 0)
            continue
        distances = [d for f in spelled if (d := skeleton.near(f, official)) is not None]
        if distances:
            keep(row, "similar", min(distances))
    if len(found) < MAX_RESEMBLES:
        if forces is None:
            forces = await repository.forces(source)
        named = [
            f["id"]
            for f in forces
            if any(skeleton.names_force(s.key, skeleton.force_name(f["name"])) for s in spelled)
        ]
        if named:
            for row in await repository.accounts_of_forces(source, named, platform):
                keep(row, "force_name", 0)
    ranked = sorted(found.values(), key=lambda item: item[0])
    return [r for _, r in ranked[:MAX_RESEMBLES]]


# --- comms teams ---------------------------------------------------------------------


_ACCOUNT = sa.select(
    Account.id,
    Account.force_id,
    Account.platform,
    Account.handle,
    Account.url,
    Account.classification,
    Account.status,
    Account.lookalike_key,
    Account.lookalike_stem,
).where(Account.id == sa.bindparam("account_id", type_=sa.Uuid()))


def _imitators_query(row: Mapping[str, Any], principal: Principal) -> Any:
    """Live unofficial accounts `same` as this one (skeleton.same, from the other side)."""
    key, stem = row["lookalike_key"], row["lookalike_stem"]
    forms = [Account.lookalike_key == key]
    if len(key) >= skeleton.MIN_STEM:
        forms.append(Account.lookalike_stem == key)
    if len(stem) >= skeleton.MIN_STEM:
        forms.append(Account.lookalike_key == stem)
    query = (
        sa.select(
            Account.id, Force.code.label("force"), Account.platform, Account.handle, Account.status
        )
        .join(Force, Force.id == Account.force_id)
        .where(
            Account.classification == "unofficial",
            Account.status.not_in(RELEASED_STATUSES),
            Account.id != row["id"],
            sa.or_(*forms),
        )
        .order_by(Account.platform, Account.handle, Account.id)
        .limit(100)
    )
    if not principal.is_national:
        query = query.where(Account.force_id == principal.force_id)
    return query


async def account_lookalikes(
    db: Database, principal: Principal, account_id: uuid.UUID
) -> AccountLookalikes:
    """For an account in the caller's scope: the official accounts its handle resembles
    and, for a public (official or corporate) account, the live unofficial accounts in
    the caller's scope with its skeleton."""
    rows = await fetch_rows(db, _ACCOUNT, {"account_id": account_id})
    row = rows[0] if rows else None
    if row is None or not (principal.is_national or row["force_id"] == principal.force_id):
        raise AccountNotFound(f"No account {account_id} in your scope.")
    found = await resembles(db, row["platform"], [row["handle"]], exclude=row["id"])
    imitators: list[ImitatingAccount] = []
    is_public = row["status"] == "active" and row["classification"] in (
        public_repository.PUBLIC_CLASSIFICATIONS
    )
    if is_public and row["lookalike_key"]:
        async with db.engine.connect() as conn:
            result = await conn.execute(_imitators_query(row, principal))
            imitators = [ImitatingAccount.model_validate(r) for r in result.mappings()]
    return AccountLookalikes(account_id=row["id"], resembles=found, imitated_by=imitators)


async def check(db: Database, urls: Sequence[str]) -> CheckResult:
    """Each reported link: verified, imitates (and which), unknown, or invalid."""
    forces = await repository.forces(db)
    answers: dict[str, CheckedUrl] = {}
    items = []
    for url in urls:
        if url not in answers:
            answers[url] = await _check_one(db, url, forces)
        items.append(answers[url])
    return CheckResult(items=items)


async def _check_one(db: Database, url: str, forces: Sequence[Mapping[str, Any]]) -> CheckedUrl:
    try:
        parsed = handles.parse_url(url)
        platform, written = parsed.platform, spellings(url, parsed.handle)
    except handles.HandleError as err:
        suspect = handles.suspect_handle(url)
        if suspect is None:
            return CheckedUrl(url=url, status="invalid", error=err.message)
        platform, written = suspect[0], [suspect[1]]
    else:
        row = await public_repository.verified(db, parsed.platform, parsed.handle)
        if row is not None:
            return CheckedUrl(url=url, status="verified", account=public_account(row))
    found = await resembles(db, platform, written, forces=forces)
    return CheckedUrl(url=url, status="imitates" if found else "unknown", resembles=found)
