"""Who receives what: people are addressed by the email of their person record.

The registry keeps no role table: roles arrive in each sign-in token. A force's comms
admins are therefore the active people of the force, with an email address, whose
sign-in subject has acted there with the `comms_admin` role within the last
`COMMS_ACTIVITY_DAYS` days, as the audit log records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.models import AuditEvent, Force, Person

COMMS_ACTIVITY_DAYS = 90


@dataclass(frozen=True)
class Recipient:
    person_id: uuid.UUID
    name: str
    email: str
    subject: str | None
    force_id: uuid.UUID
    force: str

    def principal(self, roles: tuple[str, ...]) -> Principal:
        """The recipient as a caller: what they may see decides what their email names."""
        return Principal(
            sub=self.subject or f"person:{self.person_id}",
            name=self.name,
            roles=frozenset(roles),
            force=self.force,
            force_id=self.force_id,
        )


async def comms_admins(session: AsyncSession, force: Force, now: datetime) -> list[Recipient]:
    roles_text = sa.cast(AuditEvent.actor_roles, sa.Text)
    subjects = (
        sa.select(AuditEvent.actor_sub)
        .where(
            AuditEvent.actor_force == force.code,
            AuditEvent.at >= now - timedelta(days=COMMS_ACTIVITY_DAYS),
            roles_text.like('%"comms_admin"%'),
        )
        .distinct()
    )
    query = (
        sa.select(Person)
        .where(
            Person.force_id == force.id,
            Person.status == "active",
            Person.email.is_not(None),
            Person.subject.in_(subjects),
        )
        .order_by(Person.name, Person.id)
    )
    return [
        Recipient(p.id, p.name, p.email or "", p.subject, force.id, force.code)
        for p in (await session.scalars(query)).all()
    ]
