"""Guideline versions and sign-offs.

Versions rise per document (scope + code): a POST naming a version not above the latest
is refused (409 `version-not-rising`); without `version` the server assigns latest + 1.
Guidelines are never edited: a change is a new version. Sign-offs are never edited either:
signing twice keeps the first record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit import service as audit
from app.auth import redaction
from app.auth.deps import person_id_of, require_person
from app.auth.principal import Principal
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.guidelines import repository
from app.guidelines.schemas import (
    GuidelineCreate,
    GuidelineRead,
    OutstandingItem,
    OutstandingSignoff,
    SignoffRead,
)
from app.models import Force, Guideline, Signoff
from app.schemas import PersonRef


class GuidelineNotFound(NotFound):
    code = "guideline-not-found"


class SignoffNotFound(NotFound):
    code = "signoff-not-found"


class PersonNotFound(NotFound):
    code = "person-not-found"


class NotYourForce(Conflict):
    code = "guideline-of-another-force"
    title = "Guideline of another force"


class VersionNotRising(Conflict):
    code = "version-not-rising"
    title = "Guideline versions must rise"


def _read(row: Any) -> GuidelineRead:
    g: Guideline = row.Guideline
    return GuidelineRead(
        id=g.id,
        force=row.force,
        code=g.code,
        version=g.version,
        title=g.title,
        document_url=g.document_url,
        sha256=g.sha256,
        effective_from=g.effective_from,
        requires_resign=g.requires_resign,
        current=bool(row.current),
        created_at=g.created_at,
    )


def _signoff_read(row: Any) -> SignoffRead:
    s: Signoff = row.Signoff
    return SignoffRead(
        id=s.id,
        force=row.force,
        guideline_id=s.guideline_id,
        code=row.code,
        version=s.version,
        sha256=s.sha256,
        person=PersonRef(id=s.person_id, name=row.person_name),
        signed_at=s.signed_at,
    )


async def _guideline_force(
    session: AsyncSession, principal: Principal, force_code: str | None
) -> uuid.UUID | None:
    """comms_admin: always their own force; admin: the named force, or national."""
    if not principal.has("admin"):
        if force_code is not None and force_code != principal.force:
            raise ValidationFailed(
                "Force-scoped callers publish guidelines only for their own force.",
                errors=[{"loc": ["body", "force"], "msg": "must be your own force or omitted"}],
            )
        return principal.force_id
    if force_code is None:
        return None
    found = await session.scalar(sa.select(Force.id).where(Force.code == force_code))
    if found is None:
        raise ValidationFailed(
            f"No force with code {force_code!r}.",
            errors=[{"loc": ["body", "force"], "msg": "unknown force"}],
        )
    return found


async def create(
    session: AsyncSession, principal: Principal, body: GuidelineCreate
) -> GuidelineRead:
    force_id = await _guideline_force(session, principal, body.force)
    latest = await repository.latest_version(session, force_id, body.code)
    version = body.version if body.version is not None else latest + 1
    if version <= latest:
        raise VersionNotRising(
            f"Version {version} of {body.code!r} is not above the latest ({latest})."
        )
    guideline = Guideline(
        force_id=force_id,
        code=body.code,
        version=version,
        title=body.title,
        document_url=body.document_url,
        sha256=body.sha256,
        effective_from=body.effective_from,
        requires_resign=body.requires_resign,
    )
    try:
        async with session.begin_nested():
            session.add(guideline)
            await session.flush()
    except IntegrityError:
        raise VersionNotRising(
            f"Version {version} of {body.code!r} was just published by someone else."
        ) from None
    audit.record(
        session,
        principal,
        "guideline.created",
        "guideline",
        guideline.id,
        {k: [None, v] for k, v in body.model_dump(exclude={"force"}).items()}
        | {"version": [None, version]},
        force_id=force_id,
    )
    row = await repository.get(session, principal, guideline.id, clock.now())
    return _read(row)


async def get(
    session: AsyncSession, principal: Principal, guideline_id: uuid.UUID
) -> GuidelineRead:
    row = await repository.get(session, principal, guideline_id, clock.now())
    if row is None:
        raise GuidelineNotFound("No such guideline.")
    return _read(row)


async def list_guidelines(
    session: AsyncSession,
    principal: Principal,
    *,
    force_id: uuid.UUID | None,
    code: str | None,
    current_only: bool,
    after: tuple[str, int, uuid.UUID] | None,
    limit: int,
) -> list[GuidelineRead]:
    rows = await repository.list_visible(
        session,
        principal,
        clock.now(),
        force_id=force_id,
        code=code,
        current_only=current_only,
        after=after,
        limit=limit,
    )
    return [_read(r) for r in rows]


@dataclass
class SignResult:
    signoff: SignoffRead
    created: bool


async def sign(session: AsyncSession, principal: Principal, guideline_id: uuid.UUID) -> SignResult:
    """Sign for the caller's own person record; a second signature returns the first."""
    row = await repository.get(session, principal, guideline_id, clock.now())
    if row is None:
        raise GuidelineNotFound("No such guideline.")
    person_id = await require_person(session, principal)
    if row.Guideline.force_id not in (None, principal.force_id):
        # Visible to a national caller, but it binds another force's staff, not them.
        raise NotYourForce("This guideline is for another force's staff to sign.")
    guideline: Guideline = row.Guideline
    existing = await repository.find_signoff(session, guideline.id, person_id)
    created = False
    if existing is None:
        signoff = Signoff(
            force_id=principal.force_id,
            guideline_id=guideline.id,
            person_id=person_id,
            version=guideline.version,
            sha256=guideline.sha256,
        )
        try:
            async with session.begin_nested():
                session.add(signoff)
                await session.flush()
            created = True
            existing = signoff
        except IntegrityError:
            # A racing request signed first; its record stands.
            existing = await repository.find_signoff(session, guideline.id, person_id)
            assert existing is not None
    if created:
        audit.record(
            session,
            principal,
            "guideline.signed",
            "signoff",
            existing.id,
            {
                "guideline_id": [None, str(guideline.id)],
                "person_id": [None, str(person_id)],
                "code": [None, guideline.code],
                "version": [None, guideline.version],
                "sha256": [None, guideline.sha256],
            },
            force_id=principal.force_id,
        )
    signoff_row = await repository.get_signoff_row(session, existing.id)
    return SignResult(_signoff_read(signoff_row), created)


async def already_signed(
    session: AsyncSession, principal: Principal, guideline_id: uuid.UUID
) -> bool:
    """Whether the caller has signed this guideline (False when anything is amiss)."""
    person_id = await person_id_of(session, principal)
    if person_id is None:
        return False
    return await repository.find_signoff(session, guideline_id, person_id) is not None


async def get_signoff(
    session: AsyncSession, principal: Principal, signoff_id: uuid.UUID
) -> SignoffRead:
    row = await repository.get_signoff_row(session, signoff_id)
    if row is None or (not principal.is_national and row.Signoff.force_id != principal.force_id):
        raise SignoffNotFound("No such sign-off.")
    if not redaction.reads_people_of(principal, row.Signoff.force_id):
        await _require_self(session, principal, row.Signoff.person_id)
    return _signoff_read(row)


async def _require_self(session: AsyncSession, principal: Principal, person_id: uuid.UUID) -> None:
    if await person_id_of(session, principal) != person_id:
        raise Forbidden(
            "Only comms_admin or psd of the person's force, or admin, may read another person's "
            "sign-offs."
        )


async def signoffs_of_person(
    session: AsyncSession,
    principal: Principal,
    person_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[SignoffRead]:
    person = await repository.person_in_scope(session, principal, person_id)
    if person is None:
        raise PersonNotFound("No such person.")
    if not redaction.reads_people_of(principal, person.force_id):
        await _require_self(session, principal, person_id)
    rows = await repository.signoffs_of_person(session, person_id, after, limit)
    return [_signoff_read(r) for r in rows]


def _due(effective_from: datetime, grace_days: int) -> tuple[date, bool]:
    deadline = effective_from + timedelta(days=grace_days)
    return deadline.date(), clock.now() > deadline


async def _outstanding_fields(session: AsyncSession, rows: list[Any]) -> list[dict[str, Any]]:
    codes = await repository.force_codes(
        session, {r.guideline_force_id for r in rows if r.guideline_force_id is not None}
    )
    out = []
    for r in rows:
        due_on, overdue = _due(r.effective_from, r.grace_days)
        out.append(
            {
                "guideline_id": r.guideline_id,
                "force": codes.get(r.guideline_force_id) if r.guideline_force_id else None,
                "code": r.code,
                "version": r.version,
                "title": r.title,
                "document_url": r.document_url,
                "sha256": r.sha256,
                "effective_from": r.effective_from,
                "due_on": due_on,
                "overdue": overdue,
            }
        )
    return out


async def outstanding_for_person(
    session: AsyncSession, person_id: uuid.UUID, force_id: uuid.UUID
) -> list[OutstandingSignoff]:
    """Current guidelines (national and the force's) the person still has to sign."""
    rows = await repository.outstanding_for_person(session, person_id, force_id, clock.now())
    return [OutstandingSignoff(**f) for f in await _outstanding_fields(session, rows)]


async def has_signed_current(
    session: AsyncSession, person_id: uuid.UUID, force_id: uuid.UUID
) -> bool:
    """True when the person holds a valid sign-off of every current guideline (grace or not)."""
    return not await repository.any_outstanding(session, person_id, force_id, clock.now())


async def outstanding(
    session: AsyncSession,
    principal: Principal,
    *,
    force_id: uuid.UUID | None,
    after: tuple[uuid.UUID, uuid.UUID] | None,
    limit: int,
) -> list[OutstandingItem]:
    rows = await repository.outstanding_page(
        session, principal, clock.now(), force_id=force_id, after=after, limit=limit
    )
    fields = await _outstanding_fields(session, rows)
    return [
        OutstandingItem(person=PersonRef(id=r.person_id, name=r.person_name), **f)
        for r, f in zip(rows, fields, strict=True)
    ]
