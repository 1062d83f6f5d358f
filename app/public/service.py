"""What the public may know: whether an account is an official one, and the directory."""

from __future__ import annotations

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
