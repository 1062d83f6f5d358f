from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.deps import scope_force_id, target_force_id
from app.auth.principal import Principal
from app.concurrency import check_if_match
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.forces.repository import codes_by_id
from app.models import Unit
from app.pagination import decode_cursor, page_of
from app.units import repository
from app.units.schemas import UnitCreate, UnitUpdate

FIELDS = ("name", "kind", "parent_id")


class UnitNotFound(NotFound):
    code = "unit-not-found"


class DuplicateUnit(Conflict):
    code = "duplicate-unit"
    title = "Duplicate unit"


class UnitInUse(Conflict):
    code = "unit-in-use"
    title = "Unit in use"


class UnknownUnit(ValidationFailed):
    """A unit reference that names no unit of the force (existence elsewhere is not revealed)."""

    code = "unknown-unit"


class UnitCycle(ValidationFailed):
    code = "unit-cycle"


def decode_force_key(cursor: str | None) -> tuple[uuid.UUID, str] | None:
    """A cursor over a (force_id, unique text key) order, as units, people and objectives use."""
    values = decode_cursor(cursor, 2)
    if values is None:
        return None
    try:
        return uuid.UUID(values[0] or ""), values[1] or ""
    except ValueError:
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from None


async def flush_unique(session: AsyncSession, errors: dict[str, AppError]) -> None:
    """Flush; a unique constraint that a racing request won since our check becomes the
    same typed conflict the check gives. `errors` maps a constraint marker (its name on
    PostgreSQL, its columns on SQLite) to that error."""
    try:
        await session.flush()
    except IntegrityError as exc:
        message = str(exc.orig)
        for marker, error in errors.items():
            if marker in message:
                raise error from None
        raise


def _unit_name_taken(name: str) -> dict[str, AppError]:
    error = DuplicateUnit(f"This force already has a unit named {name!r}.")
    return {"uq_units_force_id_name": error, "units.force_id, units.name": error}


async def force_code(session: AsyncSession, principal: Principal, force_id: uuid.UUID) -> str:
    if principal.force_id == force_id and principal.force is not None:
        return principal.force
    return (await codes_by_id(session, {force_id}))[force_id]


async def require_in_force(
    session: AsyncSession, force_id: uuid.UUID, unit_id: uuid.UUID, loc: str = "unit_id"
) -> None:
    """422 unless `unit_id` names a unit of `force_id`; for any domain that links to units."""
    if not await repository.exists_in_force(session, force_id, unit_id):
        raise UnknownUnit(
            f"No unit {unit_id} in this force.",
            errors=[{"loc": ["body", loc], "msg": "no such unit in this force"}],
        )


async def get(session: AsyncSession, principal: Principal, unit_id: uuid.UUID) -> tuple[Unit, str]:
    found = await repository.get(session, principal, unit_id)
    if found is None:
        raise UnitNotFound(f"No unit {unit_id}.")
    return found


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    force: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Unit, str]], str | None]:
    force_id = await scope_force_id(session, principal, force)
    after = decode_force_key(cursor)
    rows = await repository.page(session, principal, force_id=force_id, after=after, limit=limit)
    return page_of(rows, limit, lambda row: [row[0].force_id, row[0].name])


async def _check_name(
    session: AsyncSession, force_id: uuid.UUID, name: str, except_id: uuid.UUID | None = None
) -> None:
    if await repository.name_taken(session, force_id, name, except_id):
        raise DuplicateUnit(f"This force already has a unit named {name!r}.")


async def create(session: AsyncSession, principal: Principal, body: UnitCreate) -> tuple[Unit, str]:
    force_id = await target_force_id(session, principal, body.force)
    if body.parent_id is not None:
        await require_in_force(session, force_id, body.parent_id, "parent_id")
    await _check_name(session, force_id, body.name)
    unit = Unit(force_id=force_id, name=body.name, kind=body.kind, parent_id=body.parent_id)
    session.add(unit)
    await flush_unique(session, _unit_name_taken(body.name))
    changes = audit.diff({}, {f: getattr(unit, f) for f in FIELDS})
    audit.record(session, principal, "unit.created", "unit", unit.id, changes, force_id=force_id)
    return unit, await force_code(session, principal, force_id)


async def update(
    session: AsyncSession,
    principal: Principal,
    unit_id: uuid.UUID,
    body: UnitUpdate,
    if_match: str | None,
) -> tuple[Unit, str]:
    unit, code = await get(session, principal, unit_id)
    check_if_match(if_match, unit.version)
    wanted = body.model_dump(exclude_unset=True)
    if "name" in wanted and wanted["name"] != unit.name:
        await _check_name(session, unit.force_id, wanted["name"], unit.id)
    parent_id = wanted.get("parent_id")
    if parent_id is not None and parent_id != unit.parent_id:
        await require_in_force(session, unit.force_id, parent_id, "parent_id")
        if await repository.ancestors_include(session, parent_id, unit.id):
            raise UnitCycle(
                "A unit cannot sit under itself or one of its own sub-units.",
                errors=[{"loc": ["body", "parent_id"], "msg": "would make a cycle"}],
            )
    before = {f: getattr(unit, f) for f in FIELDS}
    for field, value in wanted.items():
        setattr(unit, field, value)
    changes = audit.diff(before, {f: getattr(unit, f) for f in FIELDS})
    if changes:
        await flush_unique(session, _unit_name_taken(unit.name))
        audit.record(
            session, principal, "unit.updated", "unit", unit.id, changes, force_id=unit.force_id
        )
    return unit, code


async def delete(
    session: AsyncSession, principal: Principal, unit_id: uuid.UUID, if_match: str | None
) -> None:
    unit, _code = await get(session, principal, unit_id)
    if if_match is not None and if_match.strip():  # a blank If-Match is no condition
        check_if_match(if_match, unit.version)
    used_by = await repository.references(session, unit.id)
    if used_by:
        raise UnitInUse(f"The unit is still referenced by {', '.join(used_by)}.")
    before = {f: getattr(unit, f) for f in FIELDS}
    await session.delete(unit)
    await session.flush()
    audit.record(
        session,
        principal,
        "unit.deleted",
        "unit",
        unit_id,
        audit.diff(before, dict.fromkeys(FIELDS)),
        force_id=unit.force_id,
    )
