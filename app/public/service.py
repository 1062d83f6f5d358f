"""What the public may know: whether an account is an official one, and the directory."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import handles
from app.db import Database
from app.errors import NotFound, ValidationFailed
from app.lookalikes import service as lookalikes
from app.public import repository
from app.public.schemas import PublicAccount, PublicForce, Verification


class ForceNotFound(NotFound):
    code = "force-not-found"


async def verify(db: Database, url: str) -> Verification:
    """Verified only for an active corporate or official account; else the public
    accounts the handle imitates. Nothing about any other account leaks."""
    try:
        parsed = handles.parse_url(url)
    except handles.HandleError as err:
        suspect = handles.suspect_handle(url)  # a look-alike no platform allows
        if suspect is None:
            raise ValidationFailed(
                err.message, errors=[{"loc": ["query", "url"], "msg": err.message}]
            ) from None
        found = await lookalikes.resembles(db, suspect[0], [suspect[1]])
        return Verification(verified=False, resembles=found)
    row = await repository.verified(db, parsed.platform, parsed.handle)
    if row is None:
        written = lookalikes.spellings(url, parsed.handle)
        found = await lookalikes.resembles(db, parsed.platform, written)
        return Verification(verified=False, resembles=found)
    return Verification(
        verified=True,
        force=PublicForce(code=row["force_code"], name=row["force_name"]),
        platform=row["platform"],
        handle=row["handle"],
        display_name=row["display_name"],
        classification=row["classification"],
        url=row["url"],
    )


def _item(row: Any) -> PublicAccount:
    return PublicAccount(
        force=PublicForce(code=row.force_code, name=row.force_name),
        platform=row.platform,
        handle=row.handle,
        url=row.url,
        display_name=row.display_name,
        classification=row.classification,
    )


async def directory(
    session: AsyncSession,
    force: str | None,
    platform: str | None,
    after_key: list[str | None] | None,
    limit: int,
) -> tuple[list[PublicAccount], list[str] | None]:
    """A page of the directory and the key to continue after (None: last page)."""
    force_id = None
    if force is not None:
        force_id = await repository.force_id(session, force)
        if force_id is None:
            raise ForceNotFound(f"No force with code {force!r}.")
    rows = await repository.directory(session, force_id, platform, after_key, limit + 1)
    next_key = [rows[limit - 1].platform, rows[limit - 1].handle] if len(rows) > limit else None
    return [_item(row) for row in rows[:limit]], next_key


# --- the directory's feed ---------------------------------------------------------------

FEED_ENTRIES = 50
# Events read to find them: most account events (owners, units, reviews) do not touch
# the directory, so the scan reads more than it keeps, but always a bounded number.
FEED_SCAN = 2000
# What the directory shows of an account; a change to anything else is not in the feed.
SHOWN = ("platform", "handle", "url", "display_name", "classification")


@dataclass(frozen=True)
class FeedEntry:
    event_id: int
    at: datetime
    kind: str  # added, changed, removed
    account: PublicAccount
    status: str  # the account's status after the event
    changes: dict[str, list[Any]]  # {field: [before, after]} of the fields shown


@dataclass(frozen=True)
class Feed:
    force: PublicForce | None
    entries: list[FeedEntry]


def _state(changes: dict[str, Any], name: str, now: str, side: int) -> Any:
    """A field before (side 0) or after (1) the event: from the event when it changed
    it, else the account's value now (an event records only what it changed)."""
    change = changes.get(name)
    if isinstance(change, list) and len(change) == 2:
        return change[side]
    return now


def _entry(event: Any, account: Any) -> FeedEntry | None:
    """The event as the directory saw it: an account joining (active and public after,
    not before), leaving, or changing what it shows; None when it did none of these."""
    changes = event.changes if isinstance(event.changes, dict) else {}
    created = event.action in ("account.created", "account.imported")

    def listed(side: int) -> bool:
        if created and side == 0:
            return False
        status = _state(changes, "status", account.status, side)
        classification = _state(changes, "classification", account.classification, side)
        return status == "active" and classification in repository.PUBLIC_CLASSIFICATIONS

    before, after = listed(0), listed(1)
    shown = {k: v for k, v in changes.items() if k in SHOWN and isinstance(v, list)}
    if after and not before:
        kind = "added"
    elif before and not after:
        kind = "removed"
    elif before and after and shown:
        kind = "changed"
    else:
        return None
    return FeedEntry(
        event_id=event.id,
        at=event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC),
        kind=kind,
        account=_item(account),
        status=str(_state(changes, "status", account.status, 1)),
        changes=shown,
    )


async def feed(session: AsyncSession, force: str | None, limit: int) -> Feed:
    """The official directory's additions, changes and closures, newest first."""
    force_id = public_force = None
    if force is not None:
        force_id = await repository.force_id(session, force)
        if force_id is None:
            raise ForceNotFound(f"No force with code {force!r}.")
        name = await repository.force_name(session, force_id)
        public_force = PublicForce(code=force, name=name or force)
    events = await repository.directory_events(session, force_id, FEED_SCAN)
    ids = {i for event in events if (i := _uuid(event.entity_id)) is not None}
    accounts = {str(a.id): a for a in await repository.feed_accounts(session, ids)}
    entries = []
    for event in events:
        account = accounts.get(str(_uuid(event.entity_id)))
        if account is not None and (entry := _entry(event, account)) is not None:
            entries.append(entry)
            if len(entries) == limit:
                break
    return Feed(force=public_force, entries=entries)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
