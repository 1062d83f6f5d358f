"""Bulk account import (SPEC §4 `imports`): every row or none.

The file is parsed as it arrives, in a worker thread (`stream`), at most `max_rows` rows.
Rows are checked with set lookups against what the file names (people by staff id, units
by name, objectives by code, live accounts by platform and handle, loaded in chunks), then
written with a few multi-row INSERTs. One audit event per created account. The loops over
every row (checking, building the rows to insert) run in a worker thread too; queries and
writes stay on the request's session.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import anyio.to_thread
import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.accounts import probes
from app.accounts import service as accounts
from app.audit import service as audit
from app.audit.service import Actor
from app.auth import redaction
from app.auth.principal import Principal
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.imports import stream
from app.imports.parsing import Errors, Row, parse
from app.imports.schemas import ImportResult
from app.lookalikes import skeleton
from app.models import Account, AccountObjective, Custodianship, Force, Objective, Person, Unit

CHUNK = 1000


class ImportRejected(ValidationFailed):
    code = "import-rejected"
    title = "The import was refused; nothing was imported"


class DuplicateAccount(Conflict):
    code = "duplicate-account"
    title = "Account already registered"


class UnsupportedMediaType(AppError):
    code = "unsupported-media-type"
    status = 415
    title = "Unsupported media type"


class ImportForceNotFound(NotFound):
    code = "force-not-found"


@dataclass
class ParsedFile:
    rows: list[Row]
    errors: Errors
    sha256: str


def _parser(max_rows: int) -> Any:
    def run(lines: stream.Lines) -> tuple[list[Row], Errors]:
        errors = Errors()
        return parse(lines, errors, max_rows), errors

    return run


async def read_upload(body: AsyncIterator[bytes], max_rows: int) -> ParsedFile:
    """Parse a request body as it is received. Raises TooManyRows (413) past `max_rows`."""
    (rows, errors), lines = await stream.parse_upload(body, _parser(max_rows))
    return ParsedFile(rows, errors, lines.sha256.hexdigest())


async def read_file(data: bytes, max_rows: int) -> ParsedFile:
    lines = stream.Lines([data])
    rows, errors = await anyio.to_thread.run_sync(_parser(max_rows), lines)
    return ParsedFile(rows, errors, lines.sha256.hexdigest())


async def import_force_id(
    session: AsyncSession, principal: Principal, force_code: str | None
) -> uuid.UUID:
    """The force the rows go into: the caller's own, or the one a national caller names."""
    if not principal.is_national:
        if force_code is not None and force_code != principal.force:
            raise ValidationFailed(
                "Force-scoped callers import only into their own force.",
                errors=[{"loc": ["query", "force"], "msg": "must be your own force or omitted"}],
            )
        assert principal.force_id is not None
        return principal.force_id
    if force_code is None:
        raise ValidationFailed(
            "Name the force to import into.",
            errors=[{"loc": ["query", "force"], "msg": "required for national roles"}],
        )
    found = await session.scalar(sa.select(Force.id).where(Force.code == force_code))
    if found is None:
        raise ImportForceNotFound(f"No force with code {force_code!r}.")
    return found


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def _by_key(
    session: AsyncSession, key: Any, columns: tuple[Any, ...], where: Any, wanted: set[str]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for batch in _chunks(sorted(wanted)):
        rows = await session.execute(sa.select(key, *columns).where(where, key.in_(batch)))
        found.update({row[0]: row for row in rows})
    return found


async def _registered(
    session: AsyncSession, caller: Principal | Actor, rows: list[Row]
) -> dict[tuple[str, str], bool]:
    """(platform, handle) pairs of the file that a live account already holds, any force,
    each with whether the caller may see that account."""
    principal = caller if isinstance(caller, Principal) else None
    return await accounts.live_holders(session, principal, [(r.platform, r.handle) for r in rows])


async def _resolved(
    session: AsyncSession,
    caller: Principal | Actor,
    force_id: uuid.UUID,
    rows: list[Row],
    errors: Errors,
    hidden: list[tuple[str, str]],
    named: bool,
) -> list[tuple[Row, uuid.UUID | None, uuid.UUID | None, list[uuid.UUID]]]:
    """Each good row with its owner id, unit id and objective ids; errors for the rest.
    A line refused as a duplicate of an account the caller cannot see goes in `hidden`.
    `named`: the caller reads the force's people records, so an error may say whether a
    staff id exists or has left; otherwise both read alike (`app.auth.redaction`)."""
    people = await _by_key(
        session, Person.staff_id, (Person.id, Person.status), Person.force_id == force_id,
        {r.owner_staff_id for r in rows if r.owner_staff_id},
    )  # fmt: skip
    units = await _by_key(
        session, Unit.name, (Unit.id,), Unit.force_id == force_id, {r.unit for r in rows if r.unit}
    )
    objectives = await _by_key(
        session, Objective.code, (Objective.id, Objective.active),
        Objective.force_id == force_id, {c for r in rows for c in r.objectives},
    )  # fmt: skip
    taken = await _registered(session, caller, rows)
    return await anyio.to_thread.run_sync(
        _checked, rows, people, units, objectives, taken, errors, hidden, named
    )


def _checked(
    rows: list[Row],
    people: dict[str, Any],
    units: dict[str, Any],
    objectives: dict[str, Any],
    taken: dict[tuple[str, str], bool],
    errors: Errors,
    hidden: list[tuple[str, str]],
    named: bool,
) -> list[tuple[Row, uuid.UUID | None, uuid.UUID | None, list[uuid.UUID]]]:
    good = []
    for row in rows:
        before = errors.count
        owner = people.get(row.owner_staff_id) if row.owner_staff_id else None
        if row.owner_staff_id and not named and (owner is None or owner.status != "active"):
            msg = f"No active person with staff id {row.owner_staff_id!r}."
            errors.add(row.line, "owner_staff_id", msg)
        elif row.owner_staff_id and owner is None:
            errors.add(
                row.line, "owner_staff_id", f"No person with staff id {row.owner_staff_id!r}."
            )
        elif owner is not None and owner.status != "active":
            errors.add(row.line, "owner_staff_id", f"{row.owner_staff_id!r} has left the force.")
        unit = units.get(row.unit) if row.unit else None
        if row.unit and unit is None:
            errors.add(row.line, "unit", f"No unit named {row.unit!r}.")
        objective_ids = []
        for code in row.objectives:
            found = objectives.get(code)
            if found is None or not found.active:
                errors.add(row.line, "objectives", f"No active objective with code {code!r}.")
            else:
                objective_ids.append(found.id)
        visible = taken.get((row.platform, row.handle))
        if visible is not None:
            errors.add(row.line, "handle", f"{row.platform}/{row.handle} is already registered.")
            if not visible:
                hidden.append((row.platform, row.handle))
        if errors.count == before:
            good.append(
                (row, owner.id if owner else None, unit.id if unit else None, objective_ids)
            )
    return good


async def import_accounts(
    session: AsyncSession,
    principal_or_actor: Principal | Actor,
    force_id: uuid.UUID,
    file: ParsedFile,
    dry_run: bool,
) -> ImportResult:
    """Check every row; if all pass (and not a dry run) create them all. Flushes only.

    Raises ImportRejected (422, `errors: [{line, field, msg}]`) when any row is bad,
    DuplicateAccount (409) when a concurrent registration takes a handle first,
    TooManyDuplicateRefusals (429) past the caller's allowance of duplicate refusals.
    """
    review_days = await session.scalar(
        sa.select(Force.review_interval_days).where(Force.id == force_id)
    )
    if review_days is None:
        raise ImportForceNotFound("No such force.")
    rows, errors = file.rows, file.errors
    named = isinstance(principal_or_actor, Actor) or redaction.reads_people_of(
        principal_or_actor, force_id
    )
    good = []
    if rows:
        # Every line of another force's account listed "already registered" is a probe
        # (app.accounts.probes): more of them than the caller's allowance left is a 429
        # that lists none.
        allowance = await probes.reserve(session, principal_or_actor)
        hidden: list[tuple[str, str]] = []
        good = await _resolved(session, principal_or_actor, force_id, rows, errors, hidden, named)
        via = "import_dry_run" if dry_run else "import"
        await probes.refused(session, allowance, hidden, via)
    if errors:
        shown = len(errors.items)
        detail = f"{errors.count} problem(s) in {len(errors.bad_lines)} line(s)"
        detail += f"; the first {shown} are listed." if shown < errors.count else "."
        listed = sorted(errors.items, key=lambda e: e["line"])
        raise ImportRejected(detail, errors=listed, error_count=errors.count)
    if not dry_run and good:
        await _write(session, principal_or_actor, force_id, good, review_days)
    return ImportResult(created=len(good))


async def _write(
    session: AsyncSession,
    actor: Principal | Actor,
    force_id: uuid.UUID,
    good: list[tuple[Row, uuid.UUID | None, uuid.UUID | None, list[uuid.UUID]]],
    review_days: int,
) -> None:
    now = clock.now()
    review_due_on = now.date() + timedelta(days=review_days)
    accounts, custodians, links = await anyio.to_thread.run_sync(
        _new_rows, session, actor, force_id, good, now, review_due_on
    )
    try:
        for table, batch_rows in (
            (Account.__table__, accounts),
            (Custodianship.__table__, custodians),
            (AccountObjective.__table__, links),
        ):
            await _insert(session, table, batch_rows)
    except (IntegrityError, asyncpg.UniqueViolationError) as exc:
        message = str(getattr(exc, "orig", exc))
        if "uq_accounts_live_platform_handle" in message or "accounts.platform" in message:
            raise DuplicateAccount(
                "Another registration took one of these handles while the file was imported; "
                "nothing was imported. Retry to see which."
            ) from None
        raise


def _new_rows(
    session: AsyncSession,
    actor: Principal | Actor,
    force_id: uuid.UUID,
    good: list[tuple[Row, uuid.UUID | None, uuid.UUID | None, list[uuid.UUID]]],
    now: datetime,
    review_due_on: date,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows to insert and one queued audit event per account (no database access)."""
    accounts: list[dict[str, Any]] = []
    custodians: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for row, owner_id, unit_id, objective_ids in good:
        account_id = uuid.uuid4()
        fields = {
            "platform": row.platform,
            "handle": row.handle,
            "url": row.url,
            "display_name": row.display_name,
            "classification": row.classification,
            "status": row.status,
            "is_anonymous": row.is_anonymous,
            "unit_id": unit_id,
            "owner_id": owner_id,
            "review_due_on": review_due_on,
        }
        accounts.append(
            {"id": account_id, "force_id": force_id, "platform_account_id": None,
             "last_post_at": None, "legal_hold": False, "version": 1,
             "created_at": now, "updated_at": now,
             "lookalike_key": skeleton.key(row.handle),
             "lookalike_stem": skeleton.stem(row.handle), **fields}
        )  # fmt: skip
        if owner_id is not None:
            custodians.append(
                {"id": uuid.uuid4(), "force_id": force_id, "account_id": account_id,
                 "person_id": owner_id, "role": "owner", "valid_from": now, "valid_to": None}
            )  # fmt: skip
        links.extend({"account_id": account_id, "objective_id": o} for o in objective_ids)
        changes = audit.diff({}, {**fields, "objectives": [str(o) for o in objective_ids]})
        audit.record(
            session, actor, "account.imported", "account", account_id, changes,
            force_id=force_id, at=now,
        )  # fmt: skip
    return accounts, custodians, links


async def _insert(session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Many rows in this transaction: COPY on PostgreSQL (several times faster than
    multi-row INSERTs with the accounts' indexes and foreign keys), INSERTs elsewhere."""
    if not rows:
        return
    conn = await session.connection()
    if conn.dialect.name != "postgresql":
        for batch in _chunks(rows):
            await session.execute(sa.insert(table), batch)
        return
    columns = list(rows[0])
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
    )
