"""The caller as the registry knows them: person record, accounts run, sign-offs owed."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import person_id_of
from app.auth.principal import Principal
from app.guidelines import service as guidelines
from app.me.schemas import MeRead, MyAccount, MyPerson
from app.models import Account, Custodianship, Person
from app.models.enums import RELEASED_STATUSES

_ACCOUNT_COLUMNS = (
    Account.id,
    Account.platform,
    Account.handle,
    Account.display_name,
    Account.classification,
    Account.status,
)


async def _accounts(session: AsyncSession, person_id: uuid.UUID) -> list[MyAccount]:
    """Live accounts the person owns or is an open editor of, owned ones first."""
    owned = sa.select(*_ACCOUNT_COLUMNS, sa.literal("owner").label("role")).where(
        Account.owner_id == person_id, Account.status.not_in(RELEASED_STATUSES)
    )
    edited = (
        sa.select(*_ACCOUNT_COLUMNS, sa.literal("editor").label("role"))
        .join(Custodianship, Custodianship.account_id == Account.id)
        .where(
            Custodianship.person_id == person_id,
            Custodianship.role == "editor",
            Custodianship.valid_to.is_(None),
            Account.status.not_in(RELEASED_STATUSES),
        )
    )
    both = sa.union_all(owned, edited).subquery()
    rows = await session.execute(
        sa.select(both).order_by(both.c.role.desc(), both.c.platform, both.c.handle)
    )
    return [MyAccount.model_validate(r, from_attributes=True) for r in rows]


async def me(session: AsyncSession, principal: Principal) -> MeRead:
    person_id = await person_id_of(session, principal)
    person = await session.get(Person, person_id) if person_id is not None else None
    accounts = []
    outstanding = []
    if person is not None:
        accounts = await _accounts(session, person.id)
        outstanding = await guidelines.outstanding_for_person(session, person.id, person.force_id)
    return MeRead(
        sub=principal.sub,
        name=principal.name or (person.name if person is not None else None),
        roles=sorted(principal.roles),
        force=principal.force,
        person=MyPerson.model_validate(person) if person is not None else None,
        accounts=accounts,
        outstanding_signoffs=outstanding,
    )
