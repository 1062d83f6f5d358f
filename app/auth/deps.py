"""FastAPI dependencies: who is calling, and may they call this route at all."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.auth.principal import Principal, check_roles
from app.db import Database, fetch_rows, get_session
from app.errors import Forbidden, NoPersonRecord, NotFound, Unauthorized, ValidationFailed
from app.models import Force, Person

Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def read_database(request: Request) -> Database:
    """For GET routes answered by single statements: the database's direct read path
    (`Database.fetch`), with no session or transaction opened for the request."""
    db: Database = request.app.state.db
    return db


ReadDatabase = Annotated[Database, Depends(read_database)]

_FORCE_BY_CODE = sa.select(Force.id).where(Force.code == sa.bindparam("code", type_=sa.String()))


async def force_id_by_code(source: AsyncSession | Database, code: str) -> uuid.UUID | None:
    rows = await fetch_rows(source, _FORCE_BY_CODE, {"code": code})
    return rows[0]["id"] if rows else None


class ForceCache:
    """Force codes never change, so code → id is cached once found."""

    def __init__(self) -> None:
        self._ids: dict[str, uuid.UUID] = {}

    async def id_of(self, db: Database, code: str) -> uuid.UUID | None:
        found = self._ids.get(code)
        if found is None:
            found = await force_id_by_code(db, code)
            if found is not None:
                if len(self._ids) > 10_000:
                    self._ids.clear()
                self._ids[code] = found
        return found


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("A bearer token is required.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


async def get_principal(request: Request) -> Principal:
    verified = await request.app.state.verifier.verify(_bearer(request))
    if not verified.roles:
        detail = verified.missing_role or "The token carries no role this service knows."
        raise Forbidden(detail, code="no-known-role")
    check_roles(verified.roles)  # before any lookup: a mixed token learns nothing more
    force_id = None
    if verified.force is not None:
        force_id = await request.app.state.forces.id_of(request.app.state.db, verified.force)
        if force_id is None:
            raise Forbidden("The token's force is not registered here.")
    principal = Principal(
        sub=verified.sub,
        name=verified.name,
        roles=verified.roles,
        force=verified.force,
        force_id=force_id,
    )
    db: Database = request.app.state.db
    if db.replica is not None:
        from app.replica import caller_var, primary_reads_var

        caller_var.set(principal.caller_key)
        if await db.must_read_primary(principal.caller_key):
            primary_reads_var.set(True)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only callers holding one of `roles`."""
    allowed = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & allowed:
            raise Forbidden(f"This action needs one of the roles: {', '.join(sorted(allowed))}.")
        return principal

    dependency.__name__ = "require_" + "_or_".join(sorted(allowed))
    return dependency


def force_filter(
    principal: Principal, column: sa.ColumnElement[Any] | QueryableAttribute[Any]
) -> sa.ColumnElement[bool]:
    """The WHERE clause that keeps force-scoped callers inside their own force."""
    if principal.is_national:
        return sa.true()
    return column == principal.force_id


async def target_force_id(
    session: AsyncSession, principal: Principal, force_code: str | None
) -> uuid.UUID:
    """The force a create acts in: the token's own, or the one a national caller names."""
    if not principal.is_national:
        if force_code is not None and force_code != principal.force:
            raise ValidationFailed(
                "Force-scoped callers act only in their own force.",
                errors=[{"loc": ["body", "force"], "msg": "must be your own force or omitted"}],
            )
        assert principal.force_id is not None
        return principal.force_id
    if force_code is None:
        if principal.force_id is not None:
            return principal.force_id
        raise ValidationFailed(
            "National callers must name the force.",
            errors=[{"loc": ["body", "force"], "msg": "required for national roles"}],
        )
    found = await session.scalar(sa.select(Force.id).where(Force.code == force_code))
    if found is None:
        raise NotFound(f"No force with code {force_code!r}.")
    return found


async def scope_force_id(
    source: AsyncSession | Database, principal: Principal, force_code: str | None
) -> uuid.UUID | None:
    """For lists: `?force=` narrows a national caller; force-scoped callers get their own."""
    if not principal.is_national:
        if force_code is not None and force_code != principal.force:
            raise NotFound(f"No force with code {force_code!r}.")
        return principal.force_id
    if force_code is None:
        return None
    found = await force_id_by_code(source, force_code)
    if found is None:
        raise NotFound(f"No force with code {force_code!r}.")
    return found


async def person_id_of(session: AsyncSession, principal: Principal) -> uuid.UUID | None:
    """The caller's own person record (people.subject == sub within the caller's force)."""
    if principal.force_id is None:
        return None
    return await session.scalar(
        sa.select(Person.id).where(
            Person.force_id == principal.force_id, Person.subject == principal.sub
        )
    )


async def require_person(session: AsyncSession, principal: Principal) -> uuid.UUID:
    found = await person_id_of(session, principal)
    if found is None:
        raise NoPersonRecord("This action needs a person record linked to your sign-in subject.")
    return found
