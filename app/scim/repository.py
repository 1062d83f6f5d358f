"""Every query of SCIM provisioning."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import redaction
from app.auth.principal import Principal
from app.models import Force, Person, ScimCredential, ScimUser, Unit


async def credentials_of(
    session: AsyncSession, force_id: uuid.UUID, after_name: str | None, limit: int
) -> list[ScimCredential]:
    query = (
        sa.select(ScimCredential)
        .where(ScimCredential.force_id == force_id)
        .order_by(ScimCredential.name)
        .limit(limit + 1)
    )
    if after_name is not None:
        query = query.where(ScimCredential.name > after_name)
    return list((await session.scalars(query)).all())


async def credential(
    session: AsyncSession, force_id: uuid.UUID, credential_id: uuid.UUID
) -> ScimCredential | None:
    return await session.scalar(
        sa.select(ScimCredential).where(
            ScimCredential.id == credential_id, ScimCredential.force_id == force_id
        )
    )


async def name_taken(session: AsyncSession, force_id: uuid.UUID, name: str) -> bool:
    found = await session.scalar(
        sa.select(ScimCredential.id).where(
            ScimCredential.force_id == force_id, ScimCredential.name == name
        )
    )
    return found is not None


async def live_credential_by_hash(
    session: AsyncSession, secret_sha256: str
) -> tuple[ScimCredential, str] | None:
    """The unrevoked credential with this secret hash, and its force's code."""
    row = (
        await session.execute(
            sa.select(ScimCredential, Force.code)
            .join(Force, Force.id == ScimCredential.force_id)
            .where(
                ScimCredential.secret_sha256 == secret_sha256,
                ScimCredential.revoked_at.is_(None),
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def scim_user(session: AsyncSession, person_id: uuid.UUID) -> ScimUser | None:
    return await session.get(ScimUser, person_id)


async def scim_users(
    session: AsyncSession, person_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ScimUser]:
    if not person_ids:
        return {}
    rows = await session.scalars(sa.select(ScimUser).where(ScimUser.person_id.in_(person_ids)))
    return {row.person_id: row for row in rows}


def _scim_visible(principal: Principal) -> sa.ColumnElement[bool]:
    """People a provisioning principal sees as SCIM Users: its force's people with a
    sign-in subject (the userName), less those the provider deleted."""
    deleted = (
        sa.select(ScimUser.person_id)
        .where(ScimUser.person_id == Person.id, ScimUser.deleted_at.is_not(None))
        .exists()
    )
    return sa.and_(
        redaction.people_filter(principal, Person.force_id, Person.subject),
        Person.force_id == principal.force_id,
        Person.subject.is_not(None),
        sa.not_(deleted),
    )


async def users_page(
    session: AsyncSession,
    principal: Principal,
    where: sa.ColumnElement[bool],
    offset: int,
    count: int,
) -> tuple[int, list[Person]]:
    scope = sa.and_(_scim_visible(principal), where)
    total = await session.scalar(sa.select(sa.func.count()).select_from(Person).where(scope))
    people: list[Person] = []
    if count > 0:
        query = (
            sa.select(Person)
            .where(scope)
            .order_by(Person.created_at, Person.id)
            .offset(offset)
            .limit(count)
        )
        people = list((await session.scalars(query)).all())
    return int(total or 0), people


async def user(session: AsyncSession, principal: Principal, person_id: uuid.UUID) -> Person | None:
    return await session.scalar(
        sa.select(Person).where(Person.id == person_id, _scim_visible(principal))
    )


async def person_by_subject(
    session: AsyncSession, principal: Principal, subject: str
) -> Person | None:
    """The force's person with this subject, deleted by the provider or not."""
    return await session.scalar(
        sa.select(Person).where(
            Person.force_id == principal.force_id, sa.func.lower(Person.subject) == subject.lower()
        )
    )


async def unit_id_by_name(
    session: AsyncSession, force_id: uuid.UUID, name: str
) -> uuid.UUID | None:
    return await session.scalar(
        sa.select(Unit.id)
        .where(Unit.force_id == force_id, sa.func.lower(Unit.name) == name.strip().lower())
        .order_by(Unit.name)
        .limit(1)
    )


async def unit_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(ids)))
    return {row.id: row.name for row in rows}
