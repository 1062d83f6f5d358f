"""Activity figures: upserted per (account, period); they move `last_post_at` forward only.

Audit: one `activity.recorded` / `activity.updated` event per period posted through the
API; one `activity.imported` summary event per force touched by a CSV import, with counts
(an import may carry thousands of periods; the file's rows are the detail).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.accounts.errors import AccountNotFound
from app.activity import csvimport, repository
from app.activity.schemas import ActivityImportResult, ActivityIn, ActivityRead
from app.audit import service as audit
from app.auth.principal import Principal
from app.errors import NotFound, ValidationFailed
from app.imports import stream
from app.models import ActivityPeriod


class ActivityNotFound(NotFound):
    code = "activity-not-found"


@dataclass
class Recorded:
    activity: ActivityRead
    created: bool


def _future(at: datetime | None) -> bool:
    return at is not None and at > clock.now()


async def _account(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> Any:
    account = await repository.account_in_scope(session, principal, account_id)
    if account is None:
        raise AccountNotFound("No such account.")
    return account


async def record(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, body: ActivityIn
) -> Recorded:
    account = await _account(session, principal, account_id)
    if _future(body.last_post_at):
        raise ValidationFailed(
            "last_post_at is in the future.",
            errors=[{"loc": ["body", "last_post_at"], "msg": "must not be in the future"}],
        )
    figures = body.model_dump(include=set(repository.FIGURES))
    period = await repository.find_period(session, account.id, body.period_start, body.period_end)
    created = False
    if period is None:
        new_id = await repository.insert_if_absent(
            session,
            {
                "force_id": account.force_id,
                "account_id": account.id,
                "period_start": body.period_start,
                "period_end": body.period_end,
                **figures,
            },
        )
        if new_id is not None:
            created = True
            period = await session.get(ActivityPeriod, new_id)
        else:  # a racing request inserted it first: update that row instead
            period = await repository.find_period(
                session, account.id, body.period_start, body.period_end
            )
    assert period is not None
    changes: dict[str, list[Any]]
    if created:
        changes = {
            "account_id": [None, str(account.id)],
            "period_start": [None, body.period_start],
            "period_end": [None, body.period_end],
            **{k: [None, v] for k, v in figures.items()},
        }
    else:
        changes = audit.diff({k: getattr(period, k) for k in figures}, figures)
        for name, value in figures.items():
            setattr(period, name, value)
        await session.flush()
    if body.last_post_at is not None:
        await repository.raise_last_post_at(session, [(account.id, body.last_post_at)])
    if changes:
        action = "activity.recorded" if created else "activity.updated"
        audit.record(
            session, principal, action, "activity", period.id, changes, force_id=account.force_id
        )
    await session.refresh(period)
    return Recorded(ActivityRead.model_validate(period), created)


async def period_exists(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, body: ActivityIn
) -> bool:
    account = await repository.account_in_scope(session, principal, account_id)
    if account is None:
        return False
    found = await repository.existing_keys(
        session, [(account.id, body.period_start, body.period_end)]
    )
    return bool(found)


async def list_periods(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    after: tuple[date, date, uuid.UUID] | None,
    limit: int,
) -> list[ActivityRead]:
    account = await _account(session, principal, account_id)
    rows = await repository.list_periods(session, account.id, after, limit)
    return [ActivityRead.model_validate(r) for r in rows]


async def get_period(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, activity_id: uuid.UUID
) -> ActivityRead:
    account = await _account(session, principal, account_id)
    period = await repository.get_period(session, account.id, activity_id)
    if period is None:
        raise ActivityNotFound("No such activity period.")
    return ActivityRead.model_validate(period)


async def import_csv(
    session: AsyncSession,
    principal: Principal,
    body: AsyncIterator[bytes],
    content_type: str | None,
    max_rows: int,
) -> ActivityImportResult:
    """All rows or none: any bad row rejects the file with every error, line by line.

    The file is parsed as it arrives, in a worker thread; past `max_rows` data rows it is
    refused (413 `too-many-rows`) without parsing the rest. The loop over every row that
    matches rows to accounts also runs in a thread; queries and writes use the session.
    """
    csvimport.check_media_type(content_type)
    now = clock.now()
    (rows, errors), _ = await stream.parse_upload(
        body, lambda lines: csvimport.parse(lines, now, max_rows)
    )
    accounts = await repository.accounts_by_handle(
        session, principal, {(r.platform, r.handle) for r in rows}
    )
    values, latest, forces = await anyio.to_thread.run_sync(_matched, rows, accounts, errors)
    if errors:
        raise csvimport.reject(errors)
    keys = [(v["account_id"], v["period_start"], v["period_end"]) for v in values]
    existing = await repository.existing_keys(session, keys)
    await repository.upsert_many(session, values)
    await repository.raise_last_post_at(session, latest.items())

    per_force: dict[uuid.UUID, dict[str, int]] = {}
    for key in keys:
        counts = per_force.setdefault(forces[key[0]], {"created": 0, "updated": 0})
        counts["updated" if key in existing else "created"] += 1
    import_id = uuid.uuid4()
    for force_id, counts in per_force.items():
        audit.record(
            session,
            principal,
            "activity.imported",
            "activity_import",
            import_id,
            {name: [None, n] for name, n in counts.items()},
            force_id=force_id,
        )
    return ActivityImportResult(
        rows=len(values), created=len(keys) - len(existing), updated=len(existing)
    )


def _matched(
    rows: list[csvimport.Row],
    accounts: dict[tuple[str, str], Any],
    errors: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, datetime], dict[uuid.UUID, uuid.UUID]]:
    """The rows to upsert, each account's latest post and its force; an error (added to
    `errors`) for each row naming no account in scope."""
    values = []
    latest: dict[uuid.UUID, datetime] = {}
    forces: dict[uuid.UUID, uuid.UUID] = {}
    for row in rows:
        account = accounts.get((row.platform, row.handle))
        if account is None:
            errors.append(
                csvimport.error(
                    row.line, "handle", f"no {row.platform} account {row.handle!r} in your scope"
                )
            )
            continue
        if errors:
            continue
        f = row.figures
        values.append(
            {
                "force_id": account.force_id,
                "account_id": account.id,
                "period_start": f.period_start,
                "period_end": f.period_end,
                **row.values,
            }
        )
        forces[account.id] = account.force_id
        if f.last_post_at is not None and (
            account.id not in latest or f.last_post_at > latest[account.id]
        ):
            latest[account.id] = f.last_post_at
    return values, latest, forces
