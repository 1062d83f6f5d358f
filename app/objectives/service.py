from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.deps import scope_force_id, target_force_id
from app.auth.principal import Principal
from app.concurrency import check_if_match
from app.errors import AppError, Conflict, NotFound
from app.models import Objective
from app.objectives import repository
from app.objectives.schemas import ObjectiveCreate, ObjectiveUpdate
from app.pagination import page_of
from app.units import service as units

FIELDS = ("code", "title", "active")


class ObjectiveNotFound(NotFound):
    code = "objective-not-found"


class DuplicateObjective(Conflict):
    code = "duplicate-objective"
    title = "Duplicate objective"


def _taken(code: str) -> dict[str, AppError]:
    error = DuplicateObjective(f"This force already has an objective with code {code!r}.")
    return {"uq_objectives_force_id_code": error, "objectives.force_id, objectives.code": error}


def _snapshot(objective: Objective) -> dict[str, object]:
    return {f: getattr(objective, f) for f in FIELDS}


async def get(
    session: AsyncSession, principal: Principal, objective_id: uuid.UUID
) -> tuple[Objective, str]:
    found = await repository.get(session, principal, objective_id)
    if found is None:
        raise ObjectiveNotFound(f"No objective {objective_id}.")
    return found


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    force: str | None,
    active: bool | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Objective, str]], str | None]:
    force_id = await scope_force_id(session, principal, force)
    after = units.decode_force_key(cursor)
    rows = await repository.page(
        session, principal, force_id=force_id, active=active, after=after, limit=limit
    )
    return page_of(rows, limit, lambda row: [row[0].force_id, row[0].code])


async def _check_code(
    session: AsyncSession, force_id: uuid.UUID, code: str, except_id: uuid.UUID | None = None
) -> None:
    if await repository.code_taken(session, force_id, code, except_id):
        raise DuplicateObjective(f"This force already has an objective with code {code!r}.")


async def create(
    session: AsyncSession, principal: Principal, body: ObjectiveCreate
) -> tuple[Objective, str]:
    force_id = await target_force_id(session, principal, body.force)
    await _check_code(session, force_id, body.code)
    objective = Objective(force_id=force_id, code=body.code, title=body.title, active=body.active)
    session.add(objective)
    await units.flush_unique(session, _taken(objective.code))
    audit.record(
        session,
        principal,
        "objective.created",
        "objective",
        objective.id,
        audit.diff({}, _snapshot(objective)),
        force_id=force_id,
    )
    return objective, await units.force_code(session, principal, force_id)


async def update(
    session: AsyncSession,
    principal: Principal,
    objective_id: uuid.UUID,
    body: ObjectiveUpdate,
    if_match: str | None,
) -> tuple[Objective, str]:
    objective, force_code = await get(session, principal, objective_id)
    check_if_match(if_match, objective.version)
    wanted = body.model_dump(exclude_unset=True)
    if "code" in wanted and wanted["code"] != objective.code:
        await _check_code(session, objective.force_id, wanted["code"], objective.id)
    before = _snapshot(objective)
    for field, value in wanted.items():
        setattr(objective, field, value)
    changes = audit.diff(before, _snapshot(objective))
    if changes:
        await units.flush_unique(session, _taken(objective.code))
        audit.record(
            session,
            principal,
            "objective.updated",
            "objective",
            objective.id,
            changes,
            force_id=objective.force_id,
        )
    return objective, force_code
