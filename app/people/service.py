from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit import service as audit
from app.auth.deps import scope_force_id, target_force_id
from app.auth.principal import Principal
from app.concurrency import check_if_match
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.models import Person
from app.outbox import service as outbox
from app.pagination import page_of
from app.people import repository
from app.people.repository import PeopleFilter
from app.people.schemas import LeaveBody, PersonCreate, PersonUpdate
from app.units import service as units

FIELDS = ("staff_id", "name", "email", "subject", "job_title", "unit_id", "status", "left_on")


class PersonNotFound(NotFound):
    code = "person-not-found"


class DuplicatePerson(Conflict):
    code = "duplicate-person"
    title = "Duplicate person"


class AlreadyLeft(Conflict):
    code = "already-left"
    title = "Already left"


def _taken(person: Person) -> dict[str, AppError]:
    staff = DuplicatePerson(
        f"This force already has a person with staff id {person.staff_id!r}.", field="staff_id"
    )
    subject = DuplicatePerson(
        "Another person of this force is already linked to that sign-in subject.",
        field="subject",
    )
    return {
        "uq_people_force_id_staff_id": staff,
        "people.force_id, people.staff_id": staff,
        "uq_people_force_id_subject": subject,
        "people.force_id, people.subject": subject,
    }


def _snapshot(person: Person) -> dict[str, object]:
    return {f: getattr(person, f) for f in FIELDS}


async def get(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID
) -> tuple[Person, str]:
    found = await repository.get(session, principal, person_id)
    if found is None:
        raise PersonNotFound(f"No person {person_id}.")
    return found


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    force: str | None,
    status: str | None,
    unit_id: uuid.UUID | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Person, str]], str | None]:
    where = PeopleFilter(
        force_id=await scope_force_id(session, principal, force),
        status=status,
        unit_id=unit_id,
        q=q,
    )
    after = units.decode_force_key(cursor)
    rows = await repository.page(session, principal, where, after, limit)
    return page_of(rows, limit, lambda row: [row[0].force_id, row[0].staff_id])


async def _check_unique(
    session: AsyncSession,
    force_id: uuid.UUID,
    *,
    staff_id: str | None,
    subject: str | None,
    except_id: uuid.UUID | None = None,
) -> None:
    if staff_id is not None and await repository.staff_id_taken(
        session, force_id, staff_id, except_id
    ):
        raise DuplicatePerson(
            f"This force already has a person with staff id {staff_id!r}.", field="staff_id"
        )
    if subject is not None and await repository.subject_taken(
        session, force_id, subject, except_id
    ):
        raise DuplicatePerson(
            "Another person of this force is already linked to that sign-in subject.",
            field="subject",
        )


async def create(
    session: AsyncSession, principal: Principal, body: PersonCreate
) -> tuple[Person, str]:
    force_id = await target_force_id(session, principal, body.force)
    if body.unit_id is not None:
        await units.require_in_force(session, force_id, body.unit_id)
    await _check_unique(session, force_id, staff_id=body.staff_id, subject=body.subject)
    person = Person(force_id=force_id, status="active", **body.model_dump(exclude={"force"}))
    session.add(person)
    await units.flush_unique(session, _taken(person))
    audit.record(
        session,
        principal,
        "person.created",
        "person",
        person.id,
        audit.diff({}, _snapshot(person)),
        force_id=force_id,
    )
    return person, await units.force_code(session, principal, force_id)


async def update(
    session: AsyncSession,
    principal: Principal,
    person_id: uuid.UUID,
    body: PersonUpdate,
    if_match: str | None,
) -> tuple[Person, str]:
    person, code = await get(session, principal, person_id)
    check_if_match(if_match, person.version)
    wanted = body.model_dump(exclude_unset=True)
    unit_id = wanted.get("unit_id")
    if unit_id is not None and unit_id != person.unit_id:
        await units.require_in_force(session, person.force_id, unit_id)
    staff_id, subject = wanted.get("staff_id"), wanted.get("subject")
    await _check_unique(
        session,
        person.force_id,
        staff_id=staff_id if staff_id != person.staff_id else None,
        subject=subject if subject != person.subject else None,
        except_id=person.id,
    )
    before = _snapshot(person)
    for field, value in wanted.items():
        setattr(person, field, value)
    changes = audit.diff(before, _snapshot(person))
    if changes:
        await units.flush_unique(session, _taken(person))
        audit.record(
            session,
            principal,
            "person.updated",
            "person",
            person.id,
            changes,
            force_id=person.force_id,
        )
    return person, code


async def leave(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID, body: LeaveBody
) -> tuple[Person, str]:
    """Mark a leaver: their editorships end now; accounts they own keep them as (left) owner,
    which is what makes those accounts `orphaned`."""
    person, code = await get(session, principal, person_id)
    if person.status == "left":
        raise AlreadyLeft(f"{person.name} already left on {person.left_on}.")
    if body.left_on > clock.today():
        raise ValidationFailed(
            "The leaving date cannot be in the future.",
            errors=[{"loc": ["body", "left_on"], "msg": "must be today or earlier"}],
        )
    now = clock.now()
    before = _snapshot(person)
    if not await repository.mark_left(session, person.id, body.left_on, now):
        raise AlreadyLeft(f"{person.name} has already left.")
    await session.refresh(person)
    audit.record(
        session,
        principal,
        "person.left",
        "person",
        person.id,
        audit.diff(before, _snapshot(person)),
        force_id=person.force_id,
        at=now,
    )
    outbox.emit(
        session,
        type="person.left",
        force_code=code,
        subject={"person_id": str(person.id)},
        data={"left_on": person.left_on},
    )
    for _custodianship_id, account_id in await repository.end_open_editorships(
        session, person.id, now
    ):
        audit.record(
            session,
            principal,
            "account.editor_ended",
            "account",
            account_id,
            {"editor": [str(person.id), None]},
            force_id=person.force_id,
            at=now,
        )
    return person, code


class NotLeft(Conflict):
    code = "not-left"
    title = "Not a leaver"


async def rejoin(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID
) -> tuple[Person, str]:
    """Undo a leave (an identity provider re-enabling the user): the status is active
    again; the editorships that ended stay ended and no custody interval is rewritten, so
    "who ran it, and when" still answers as before. Accounts they still own stop being
    orphaned."""
    person, code = await get(session, principal, person_id)
    now = clock.now()
    before = _snapshot(person)
    if not await repository.mark_rejoined(session, person.id, now):
        raise NotLeft(f"{person.name} has not left.")
    await session.refresh(person)
    audit.record(
        session,
        principal,
        "person.rejoined",
        "person",
        person.id,
        audit.diff(before, _snapshot(person)),
        force_id=person.force_id,
        at=now,
    )
    return person, code
