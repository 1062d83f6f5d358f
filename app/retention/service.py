"""Leavers' personal fields are replaced by a stable pseudonym once the retention period
(REGISTRY_LEAVER_RETENTION_DAYS after the leaving date) has passed, unless a legal hold or
an open request involves an account they ever operated. Ids, the leaving date and every
custody interval stay, so "who ran this account, and when" still answers — with the
pseudonym. The audit log is append-only and hash-chained: its past events are not
rewritten; a `person.pseudonymised` event records the change (never the old values)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.service import Actor
from app.auth.principal import Principal
from app.models import Person
from app.people import service as people
from app.retention import repository

PSEUDONYMISED_FIELDS = ("name", "staff_id", "email", "subject", "job_title")


def pseudonym(person_id: uuid.UUID) -> tuple[str, str]:
    """(name, staff id) standing in for a person: the same every run, and for no one else."""
    tag = hashlib.sha256(f"registry-pseudonym:{person_id}".encode()).hexdigest()[:12]
    return f"Former member of staff {tag}", f"anon-{tag}"


@dataclass(frozen=True)
class RetentionResult:
    pseudonymised: int
    kept_back: int
    left_before: date


async def run(
    session: AsyncSession, today: date, retention_days: int, dry_run: bool = False
) -> RetentionResult:
    left_before = today - timedelta(days=retention_days)
    due = await repository.leavers_due(session, left_before)
    held = await repository.kept_back(session, left_before)
    actor = Actor.system("retention")
    if not dry_run:
        for person in due:
            await _pseudonymise(session, actor, person)
    return RetentionResult(len(due), held, left_before)


async def _pseudonymise(session: AsyncSession, actor: Actor, person: Person) -> None:
    name, staff_id = pseudonym(person.id)
    replaced = [f for f in PSEUDONYMISED_FIELDS if getattr(person, f) is not None]
    person.name, person.staff_id = name, staff_id
    person.email = person.subject = person.job_title = None
    await repository.forget_scim_resource(session, person.id)
    await session.flush()
    audit.record(
        session,
        actor,
        "person.pseudonymised",
        "person",
        person.id,
        {"replaced": sorted(replaced), "pseudonym": name},
        force_id=person.force_id,
    )


async def export(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID
) -> tuple[Person, str, dict[str, list[object]]]:
    """Everything held about a person (subject access): the record and what refers to it."""
    person, code = await people.get(session, principal, person_id)
    return (
        person,
        code,
        {
            "custody": list(await repository.custody_of(session, person.id)),
            "signoffs": list(await repository.signoffs_of(session, person.id)),
            "attestations": list(await repository.attestations_of(session, person.id)),
            "requests": list(await repository.requests_of(session, person)),
            "audit_events": list(await repository.audit_events_of(session, person, code)),
        },
    )
