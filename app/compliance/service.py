"""Attestation: the owner's periodic "is this account still needed?" review."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.accounts.errors import AccountNotFound
from app.audit import service as audit
from app.auth import redaction
from app.auth.deps import force_filter, person_id_of
from app.auth.principal import Principal
from app.compliance.schemas import AttestationRead, AttestIn
from app.errors import Conflict, Forbidden, NoPersonRecord, NotFound
from app.models import Account, Attestation, Custodianship, Force, Person
from app.schemas import PersonRef

ACCOUNTS = Account.__table__
# Roles that see every account of their force; others see unofficial ones only if they run them.
OVERSIGHT_ROLES = ("comms_admin", "psd", "admin")
ATTESTABLE_STATUSES = ("active", "suspended")


class AttestationNotFound(NotFound):
    code = "attestation-not-found"


class NotOwner(Forbidden):
    code = "not-owner"
    title = "Only the account's owner may do this"


class NotAttestable(Conflict):
    code = "account-not-live"
    title = "The account is not in service"


async def _account(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> Any:
    return (
        await session.execute(
            sa.select(
                ACCOUNTS.c.id,
                ACCOUNTS.c.force_id,
                ACCOUNTS.c.status,
                ACCOUNTS.c.classification,
                ACCOUNTS.c.is_anonymous,
                ACCOUNTS.c.owner_id,
                ACCOUNTS.c.review_due_on,
                Force.review_interval_days,
            )
            .join(Force, Force.id == ACCOUNTS.c.force_id)
            .where(ACCOUNTS.c.id == account_id, force_filter(principal, ACCOUNTS.c.force_id))
        )
    ).one_or_none()


async def _operates(session: AsyncSession, account: Any, person_id: uuid.UUID | None) -> bool:
    if person_id is None:
        return False
    if account.owner_id == person_id:
        return True
    found = await session.scalar(
        sa.select(Custodianship.id).where(
            Custodianship.account_id == account.id,
            Custodianship.person_id == person_id,
            Custodianship.valid_to.is_(None),
        )
    )
    return found is not None


async def _visible_account(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, person_id: uuid.UUID | None
) -> Any:
    account = await _account(session, principal, account_id)
    if account is None:
        raise AccountNotFound("No such account.")
    if (
        account.classification == "unofficial"
        and not principal.has(*OVERSIGHT_ROLES)
        and not await _operates(session, account, person_id)
    ):
        raise AccountNotFound("No such account.")
    return account


def _to_read(attestation: Attestation, name: str | None, shown: bool = True) -> AttestationRead:
    """`shown`: whether the caller may see the account's operators (`app.auth.redaction`);
    where not, the attesting owner is left out."""
    return AttestationRead(
        id=attestation.id,
        account_id=attestation.account_id,
        person=PersonRef(id=attestation.person_id, name=name) if shown else None,
        still_needed=attestation.still_needed,
        note=attestation.note,
        at=attestation.at,
        review_due_on=attestation.review_due_on,
        request_id=attestation.request_id,
    )


async def _read(
    session: AsyncSession, attestation: Attestation, shown: bool = True
) -> AttestationRead:
    name = await session.scalar(sa.select(Person.name).where(Person.id == attestation.person_id))
    return _to_read(attestation, name, shown)


def _shows_attester(principal: Principal, account: Any) -> bool:
    # Only oversight roles read others' attestations; the attester reads their own (shown).
    return redaction.sees_operators(principal, account.force_id, account.is_anonymous, False)


async def attest(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, body: AttestIn
) -> AttestationRead:
    """Record the owner's review and set the next review date.

    `still_needed: false` is recorded and audited here; opening the decommission request
    (and filling `request_id`) belongs to the workflows, which wrap this function.
    """
    person_id = await person_id_of(session, principal)
    account = await _visible_account(session, principal, account_id, person_id)
    if person_id is None:
        raise NoPersonRecord("Attesting needs a person record linked to your sign-in subject.")
    if account.owner_id != person_id:
        raise NotOwner("Only the account's current owner may attest to it.")
    if account.status not in ATTESTABLE_STATUSES:
        raise NotAttestable(f"An account that is {account.status} is not reviewed.")
    due = clock.today() + timedelta(days=account.review_interval_days)
    attestation = Attestation(
        force_id=account.force_id,
        account_id=account.id,
        person_id=person_id,
        still_needed=body.still_needed,
        note=body.note,
        at=clock.now(),
        review_due_on=due,
        request_id=None,
    )
    session.add(attestation)
    await session.flush()
    # Core UPDATE (bumping the version by hand): the ETag must change with review_due_on.
    await session.execute(
        sa.update(ACCOUNTS)
        .where(ACCOUNTS.c.id == account.id)
        .values(review_due_on=due, version=ACCOUNTS.c.version + 1)
    )
    audit.record(
        session,
        principal,
        "account.attested",
        "account",
        account.id,
        {
            "review_due_on": [account.review_due_on, due],
            "still_needed": [None, body.still_needed],
            "note": [None, body.note],
            "attestation_id": [None, str(attestation.id)],
        },
        force_id=account.force_id,
    )
    # Integration point (workflows): "no longer needed" opens a decommission request in
    # this transaction, and the attestation keeps its id.
    if not body.still_needed:
        from app.workflows import service as workflows  # late: workflows imports accounts

        request = await workflows.open_for_attestation(session, principal, account.id, body.note)
        attestation.request_id = request.id
        await session.flush()
    return await _read(session, attestation)


async def list_attestations(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> list[AttestationRead]:
    account = await _visible_account(session, principal, account_id, None)
    query = (
        sa.select(Attestation)
        .where(Attestation.account_id == account.id)
        .order_by(Attestation.at, Attestation.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(
            sa.or_(
                Attestation.at > after[0],
                sa.and_(Attestation.at == after[0], Attestation.id > after[1]),
            )
        )
    rows = list((await session.scalars(query)).all())
    names = dict(
        (
            await session.execute(
                sa.select(Person.id, Person.name).where(Person.id.in_({r.person_id for r in rows}))
            )
        ).all()
    )
    shown = _shows_attester(principal, account)
    return [_to_read(r, names.get(r.person_id), shown) for r in rows]


async def get_attestation(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, attestation_id: uuid.UUID
) -> AttestationRead:
    person_id = await person_id_of(session, principal)
    account = await _visible_account(session, principal, account_id, person_id)
    attestation = await session.scalar(
        sa.select(Attestation).where(
            Attestation.id == attestation_id, Attestation.account_id == account.id
        )
    )
    if attestation is None:
        raise AttestationNotFound("No such attestation.")
    own = attestation.person_id == person_id
    if not principal.has(*OVERSIGHT_ROLES) and not own:
        raise Forbidden("Only oversight roles or the attesting person may read this.")
    return await _read(session, attestation, own or _shows_attester(principal, account))
