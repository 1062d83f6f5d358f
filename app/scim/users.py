"""SCIM Users as person records (the mapping is in the README's *SCIM provisioning*).

Every change goes through the people service (create, update, leave, rejoin), so a SCIM
leaver is exactly a `POST /people/{id}/leave` leaver and every change is audited with the
provisioning principal as its actor. The last resource the provider sent is kept in
`scim_users`, so attributes the registry does not map are answered back as sent; the
mapped attributes are always answered from the person record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Context,
    Email,
    EnterpriseUser,
    Error,
    InvalidValueException,
    NotFoundException,
    PatchOp,
    ResponseParameters,
    ScimPolicy,
    UniquenessException,
    User,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit import service as audit
from app.auth.principal import Principal
from app.concurrency import etag
from app.models import Person, ScimUser
from app.people import service as people
from app.people.schemas import LeaveBody, PersonCreate, PersonUpdate
from app.scim import filters, repository

ScimUserModel = User[EnterpriseUser]
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_COUNT = 200
# What Entra ID sends and RFC 7644 does not quite say: attributes we do not model are
# dropped, a `remove` may select by `value`, and a replace of `emails[type eq "work"]` on
# a user with no work email creates it.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


@dataclass(frozen=True)
class Wanted:
    """The person fields a SCIM User asks for."""

    subject: str
    staff_id: str
    name: str
    email: str | None
    job_title: str | None
    department: str | None
    active: bool


def _invalid(exc: ValidationError) -> InvalidValueException:
    details = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
    )
    return InvalidValueException(detail=details or "Invalid value.")


def _parse(body: Any, ctx: Context) -> ScimUserModel:
    if not isinstance(body, dict):
        raise InvalidValueException(detail="The body must be a SCIM User object.")
    try:
        return ScimUserModel.model_validate(body, scim_ctx=ctx, scim_policy=POLICY)
    except ValidationError as exc:
        errors = Error.from_validation_errors(exc)
        raise InvalidValueException(detail=errors[0].detail if errors else str(exc)) from exc


def _work_email(user: ScimUserModel) -> str | None:
    emails = [e for e in user.emails or [] if e.value]
    if not emails:
        return None
    picks: tuple[Callable[[Email], bool], ...] = (
        lambda e: str(e.type or "").lower() == "work",
        lambda e: bool(e.primary),
        lambda _e: True,
    )
    for pick in picks:
        for email in emails:
            if pick(email):
                return str(email.value)
    return None


def wanted_of(user: ScimUserModel) -> Wanted:
    if not user.user_name or not user.user_name.strip():
        raise InvalidValueException(detail="userName is required.")
    subject = user.user_name.strip()
    given = (
        " ".join(part for part in (user.name.given_name, user.name.family_name) if part)
        if user.name
        else ""
    )
    name = (
        (user.display_name or "").strip()
        or ((user.name.formatted or "").strip() if user.name else "")
        or given.strip()
        or subject
    )
    enterprise = (
        user[EnterpriseUser]
        if ENTERPRISE in (user.schemas or []) or _has_enterprise(user)
        else None
    )
    return Wanted(
        subject=subject,
        staff_id=(user.external_id or subject)[:64].strip() or subject[:64],
        name=name[:200],
        email=_work_email(user),
        job_title=(user.title or None),
        department=(enterprise.department if enterprise else None) or None,
        active=user.active is not False,
    )


def _has_enterprise(user: ScimUserModel) -> bool:
    try:
        ext = user[EnterpriseUser]
    except KeyError:
        return False
    return ext is not None and any(
        getattr(ext, f) is not None for f in type(ext).model_fields if f != "schemas"
    )


def _kept(user: ScimUserModel) -> dict[str, Any]:
    """The resource as it is kept: no id, meta or password (never stored)."""
    doc = user.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    doc.pop("password", None)
    doc.pop("id", None)
    doc.pop("meta", None)
    return doc


def _pick_email(emails: list[dict[str, Any]]) -> dict[str, Any] | None:
    picks: tuple[Callable[[dict[str, Any]], bool], ...] = (
        lambda e: str(e.get("type") or "").lower() == "work",
        lambda e: bool(e.get("primary")),
        lambda _e: True,
    )
    for pick in picks:
        for email in emails:
            if email.get("value") and pick(email):
                return email
    return None


def resource_of(
    person: Person, stored: ScimUser | None, unit_name: str | None, base_url: str
) -> dict[str, Any]:
    """The SCIM User of a person: the kept resource with the mapped attributes overlaid
    from the person record (the record is the truth for them)."""
    kept = stored.resource if stored is not None else None
    doc: dict[str, Any] = dict(kept or {})
    fresh = kept is None
    doc["id"] = str(person.id)
    doc["userName"] = person.subject
    if fresh or "externalId" in doc:
        doc["externalId"] = person.staff_id
    if fresh or "displayName" in doc:
        doc["displayName"] = person.name
    if fresh:
        doc["name"] = {"formatted": person.name}
    if person.job_title:
        doc["title"] = person.job_title
    else:
        doc.pop("title", None)
    emails = [dict(e) for e in doc.get("emails") or []]
    chosen = _pick_email(emails)
    if person.email:
        if chosen is None:
            emails.append({"value": person.email, "type": "work", "primary": True})
        else:
            chosen["value"] = person.email
        doc["emails"] = emails
    elif chosen is not None:
        emails.remove(chosen)
        doc["emails"] = emails or None
    # No `active` in what the provider sent (or removed it) reads as active: only a
    # leaver's is answered when absent.
    if fresh or "active" in doc or person.status != "active":
        doc["active"] = person.status == "active"
    if unit_name:
        doc[ENTERPRISE] = {**(doc.get(ENTERPRISE) or {}), "department": unit_name}
    doc["schemas"] = [CORE] + ([ENTERPRISE] if doc.get(ENTERPRISE) else [])
    doc["meta"] = {
        "resourceType": "User",
        "created": person.created_at.isoformat(),
        "lastModified": person.updated_at.isoformat(),
        "location": f"{base_url}/Users/{person.id}",
    }
    return {k: v for k, v in doc.items() if v is not None}


def _answer(doc: dict[str, Any], params: ResponseParameters[Any] | None = None) -> dict[str, Any]:
    user = ScimUserModel.model_validate(doc, scim_policy=POLICY)
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params)


def params_of(attributes: str | None, excluded: str | None) -> ResponseParameters[Any] | None:
    if not attributes and not excluded:
        return None
    try:
        return ResponseParameters.model_validate(
            {"attributes": attributes, "excludedAttributes": excluded}
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc


async def _read(
    session: AsyncSession, person: Person, base_url: str, stored: ScimUser | None = None
) -> dict[str, Any]:
    stored = stored if stored is not None else await repository.scim_user(session, person.id)
    names = await repository.unit_names(session, {person.unit_id} if person.unit_id else set())
    return resource_of(
        person, stored, names.get(person.unit_id) if person.unit_id else None, base_url
    )


async def _visible(session: AsyncSession, principal: Principal, person_id: str) -> Person:
    try:
        as_id = uuid.UUID(person_id)
    except ValueError:
        as_id = None
    person = await repository.user(session, principal, as_id) if as_id else None
    if person is None:
        raise NotFoundException(detail=f"No User {person_id}.")
    return person


async def get(
    session: AsyncSession,
    principal: Principal,
    person_id: str,
    base_url: str,
    params: ResponseParameters[Any] | None = None,
) -> dict[str, Any]:
    person = await _visible(session, principal, person_id)
    return _answer(await _read(session, person, base_url), params)


async def search(
    session: AsyncSession,
    principal: Principal,
    *,
    filter_: str | None,
    start_index: int,
    count: int | None,
    base_url: str,
    params: ResponseParameters[Any] | None = None,
) -> dict[str, Any]:
    start = max(start_index, 1)
    wanted = MAX_COUNT if count is None else max(0, min(count, MAX_COUNT))
    total, found = await repository.users_page(
        session, principal, filters.where(filter_), start - 1, wanted
    )
    stored = await repository.scim_users(session, [p.id for p in found])
    units = await repository.unit_names(session, {p.unit_id for p in found if p.unit_id})
    resources = [
        _answer(
            resource_of(p, stored.get(p.id), units.get(p.unit_id) if p.unit_id else None, base_url),
            params,
        )
        for p in found
    ]
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _build(model: type[Any], **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        raise _invalid(exc) from exc


async def _unit_id(session: AsyncSession, principal: Principal, w: Wanted) -> uuid.UUID | None:
    if not w.department:
        return None
    assert principal.force_id is not None
    return await repository.unit_id_by_name(session, principal.force_id, w.department)


async def _apply(session: AsyncSession, principal: Principal, person: Person, w: Wanted) -> Person:
    """Bring the person record to what the provider asks, through the people service."""
    unit_id = await _unit_id(session, principal, w)
    wanted: dict[str, Any] = {
        "staff_id": w.staff_id,
        "name": w.name,
        "email": w.email,
        "subject": w.subject,
        "job_title": w.job_title,
    }
    if unit_id is not None:
        wanted["unit_id"] = unit_id
    changes = {k: v for k, v in wanted.items() if getattr(person, k) != v}
    if changes:
        body = _build(PersonUpdate, **changes)
        person, _ = await people.update(session, principal, person.id, body, etag(person.version))
    if w.active and person.status == "left":
        person, _ = await people.rejoin(session, principal, person.id)
    elif not w.active and person.status == "active":
        leave = _build(LeaveBody, left_on=clock.today())
        person, _ = await people.leave(session, principal, person.id, leave)
    return person


async def _keep(
    session: AsyncSession, person: Person, user: ScimUserModel, deleted_at: datetime | None = None
) -> ScimUser:
    stored = await repository.scim_user(session, person.id)
    if stored is None:
        stored = ScimUser(person_id=person.id, resource=_kept(user), deleted_at=deleted_at)
        session.add(stored)
    else:
        stored.resource = _kept(user)
        stored.deleted_at = deleted_at
    await session.flush()
    return stored


async def create(
    session: AsyncSession, principal: Principal, body: Any, base_url: str
) -> tuple[str, dict[str, Any]]:
    user = _parse(body, Context.RESOURCE_CREATION_REQUEST)
    w = wanted_of(user)
    existing = await repository.person_by_subject(session, principal, w.subject)
    if existing is not None:
        stored = await repository.scim_user(session, existing.id)
        if stored is None or stored.deleted_at is None:
            raise UniquenessException(detail=f"A User with userName {w.subject!r} exists.")
        # The provider deleted this user earlier and provisions them again: the same
        # person record comes back (their history is theirs).
        person = await _apply(session, principal, existing, w)
        audit.record(
            session,
            principal,
            "scim_user.restored",
            "person",
            person.id,
            {},
            force_id=person.force_id,
        )
    else:
        unit_id = await _unit_id(session, principal, w)
        made = _build(
            PersonCreate,
            staff_id=w.staff_id,
            name=w.name,
            email=w.email,
            subject=w.subject,
            job_title=w.job_title,
            unit_id=unit_id,
        )
        try:
            person, _ = await people.create(session, principal, made)
        except people.DuplicatePerson as exc:
            raise UniquenessException(detail=exc.detail) from exc
        if not w.active:
            leave = _build(LeaveBody, left_on=clock.today())
            person, _ = await people.leave(session, principal, person.id, leave)
    stored = await _keep(session, person, user)
    return str(person.id), _answer(await _read(session, person, base_url, stored))


async def replace(
    session: AsyncSession, principal: Principal, person_id: str, body: Any, base_url: str
) -> dict[str, Any]:
    person = await _visible(session, principal, person_id)
    user = _parse(body, Context.RESOURCE_REPLACEMENT_REQUEST)
    person = await _write(session, principal, person, user)
    return _answer(await _read(session, person, base_url))


async def _write(
    session: AsyncSession, principal: Principal, person: Person, user: ScimUserModel
) -> Person:
    try:
        person = await _apply(session, principal, person, wanted_of(user))
    except people.DuplicatePerson as exc:
        raise UniquenessException(detail=exc.detail) from exc
    await _keep(session, person, user)
    return person


async def patch(
    session: AsyncSession, principal: Principal, person_id: str, body: Any, base_url: str
) -> dict[str, Any]:
    person = await _visible(session, principal, person_id)
    current = ScimUserModel.model_validate(
        await _read(session, person, base_url), scim_policy=POLICY
    )
    if not isinstance(body, dict):
        raise InvalidValueException(detail="The body must be a SCIM PatchOp.")
    try:
        operations = PatchOp[ScimUserModel].model_validate(
            body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
    except ValidationError as exc:
        errors = Error.from_validation_errors(exc)
        raise InvalidValueException(detail=errors[0].detail if errors else str(exc)) from exc
    operations.patch(current, scim_policy=POLICY)
    person = await _write(session, principal, person, current)
    return _answer(await _read(session, person, base_url))


async def delete(session: AsyncSession, principal: Principal, person_id: str) -> None:
    """A deleted User is a leaver (if not already) that SCIM no longer shows."""
    person = await _visible(session, principal, person_id)
    if person.status == "active":
        leave = _build(LeaveBody, left_on=clock.today())
        person, _ = await people.leave(session, principal, person.id, leave)
    stored = await repository.scim_user(session, person.id)
    now = clock.now()
    if stored is None:
        session.add(
            ScimUser(person_id=person.id, resource={"userName": person.subject}, deleted_at=now)
        )
    else:
        stored.deleted_at = now
    await session.flush()
    audit.record(
        session, principal, "scim_user.deleted", "person", person.id, {}, force_id=person.force_id
    )
