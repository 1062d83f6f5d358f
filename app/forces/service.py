from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.concurrency import check_if_match
from app.errors import Conflict, Forbidden, NotFound
from app.forces import repository
from app.forces.schemas import ForceCreate, ForceUpdate
from app.models import Force

SETTINGS_FIELDS = ("name", "dormancy_days", "review_interval_days", "signoff_grace_days")


class ForceNotFound(NotFound):
    code = "force-not-found"


class DuplicateForce(Conflict):
    code = "duplicate-force"


async def get(session: AsyncSession, principal: Principal, code: str) -> Force:
    force = await repository.get_by_code(session, principal, code)
    if force is None:
        raise ForceNotFound(f"No force with code {code!r}.")
    return force


async def create(session: AsyncSession, principal: Principal, body: ForceCreate) -> Force:
    if await session.scalar(sa.select(Force.id).where(Force.code == body.code)):
        raise DuplicateForce(f"A force with code {body.code!r} already exists.")
    force = Force(**body.model_dump())
    session.add(force)
    await session.flush()
    audit.record(
        session, principal, "force.created", "force", force.id, body.model_dump(), force_id=force.id
    )
    return force


async def update(
    session: AsyncSession, principal: Principal, code: str, body: ForceUpdate, if_match: str | None
) -> Force:
    force = await get(session, principal, code)
    if not principal.has("admin") and "name" in body.model_fields_set:
        raise Forbidden("Only a national admin may rename a force.")
    check_if_match(if_match, force.version)
    before = {f: getattr(force, f) for f in SETTINGS_FIELDS}
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(force, field, value)
    await session.flush()
    after = {f: getattr(force, f) for f in SETTINGS_FIELDS}
    changes = audit.diff(before, after)
    if changes:
        audit.record(
            session, principal, "force.updated", "force", force.id, changes, force_id=force.id
        )
    return force
