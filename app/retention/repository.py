"""Every query of retention and subject access."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Attestation,
    AuditEvent,
    Custodianship,
    LegalHold,
    Person,
    Request,
    ScimUser,
    Signoff,
)
from app.models.enums import OPEN_REQUEST_STATUSES


async def leavers_due(session: AsyncSession, left_before: date) -> list[Person]:
    """Leavers who left before `left_before`, not yet pseudonymised (they still have a
    staff id of their own), and no account they ever operated is under a legal hold or
    has an open request."""
    held = (
        sa.select(LegalHold.id)
        .join(Custodianship, Custodianship.account_id == LegalHold.account_id)
        .where(Custodianship.person_id == Person.id, LegalHold.released_at.is_(None))
        .correlate(Person)
        .exists()
    )
    open_request = (
        sa.select(Request.id)
        .join(Custodianship, Custodianship.account_id == Request.account_id)
        .where(Custodianship.person_id == Person.id, Request.status.in_(OPEN_REQUEST_STATUSES))
        .correlate(Person)
        .exists()
    )
    query = (
        sa.select(Person)
        .where(
            Person.status == "left",
            Person.left_on < left_before,
            sa.not_(Person.staff_id.startswith("anon-")),
            sa.not_(held),
            sa.not_(open_request),
        )
        .order_by(Person.left_on, Person.id)
    )
    return list((await session.scalars(query)).all())


async def kept_back(session: AsyncSession, left_before: date) -> int:
    """Leavers due whom a hold or an open request keeps."""
    due = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Person)
        .where(
            Person.status == "left",
            Person.left_on < left_before,
            sa.not_(Person.staff_id.startswith("anon-")),
        )
    )
    return int(due or 0) - len(await leavers_due(session, left_before))


async def forget_scim_resource(session: AsyncSession, person_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(ScimUser).where(ScimUser.person_id == person_id).values(resource={})
    )


async def custody_of(session: AsyncSession, person_id: uuid.UUID) -> list[Custodianship]:
    query = (
        sa.select(Custodianship)
        .where(Custodianship.person_id == person_id)
        .order_by(Custodianship.valid_from, Custodianship.id)
    )
    return list((await session.scalars(query)).all())


async def signoffs_of(session: AsyncSession, person_id: uuid.UUID) -> list[Signoff]:
    query = sa.select(Signoff).where(Signoff.person_id == person_id).order_by(Signoff.signed_at)
    return list((await session.scalars(query)).all())


async def attestations_of(session: AsyncSession, person_id: uuid.UUID) -> list[Attestation]:
    query = (
        sa.select(Attestation).where(Attestation.person_id == person_id).order_by(Attestation.at)
    )
    return list((await session.scalars(query)).all())


async def requests_of(session: AsyncSession, person: Person) -> list[Request]:
    """Requests the person made (their sign-in subject, in their force)."""
    if person.subject is None:
        return []
    query = (
        sa.select(Request)
        .where(Request.force_id == person.force_id, Request.requested_by == person.subject)
        .order_by(Request.created_at, Request.id)
    )
    return list((await session.scalars(query)).all())


async def audit_events_of(
    session: AsyncSession, person: Person, force_code: str
) -> list[AuditEvent]:
    """Events about the person, and events they caused (as actor, in their force)."""
    about = sa.and_(AuditEvent.entity_type == "person", AuditEvent.entity_id == str(person.id))
    clauses = [about]
    if person.subject is not None:
        # Subjects are per force: the actor's force, or (for events whose actor carried
        # none) the event's force, must be theirs.
        in_force = sa.or_(
            AuditEvent.actor_force == force_code,
            sa.and_(AuditEvent.actor_force.is_(None), AuditEvent.force_id == person.force_id),
        )
        clauses.append(sa.and_(AuditEvent.actor_sub == person.subject, in_force))
    query = sa.select(AuditEvent).where(sa.or_(*clauses)).order_by(AuditEvent.id)
    return list((await session.scalars(query)).all())
