"""What the workflows need from the accounts and guidelines domains.

Effects of requests change accounts (status, owner through custodianship intervals,
unit, objectives) and depend on guideline sign-offs. Those rules belong to the other
domains; this module is the one place the workflows reach them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth.principal import Principal
from app.guidelines.rules import outstanding_guidelines
from app.models import Account, AccountObjective, Custodianship


async def has_signed_current(
    session: AsyncSession, person_id: uuid.UUID, force_id: uuid.UUID
) -> bool:
    outstanding = outstanding_guidelines(person_id, force_id, clock.now()).limit(1)
    return (await session.execute(outstanding)).first() is None


async def change_owner(
    session: AsyncSession,
    principal: Principal,
    account: Account,
    new_owner_id: uuid.UUID,
    at: datetime,
) -> None:
    """Close the open owner interval at `at` and open the new owner's from `at`."""
    if account.owner_id == new_owner_id:
        return
    await session.execute(
        sa.update(Custodianship)
        .where(
            Custodianship.account_id == account.id,
            Custodianship.role == "owner",
            Custodianship.valid_to.is_(None),
        )
        .values(valid_to=at)
    )
    session.add(
        Custodianship(
            force_id=account.force_id,
            account_id=account.id,
            person_id=new_owner_id,
            role="owner",
            valid_from=at,
        )
    )
    account.owner_id = new_owner_id
    await session.flush()


async def end_custodianships(
    session: AsyncSession, principal: Principal, account: Account, at: datetime
) -> None:
    await session.execute(
        sa.update(Custodianship)
        .where(Custodianship.account_id == account.id, Custodianship.valid_to.is_(None))
        .values(valid_to=at)
    )
    account.owner_id = None
    await session.flush()


async def replace_objectives(
    session: AsyncSession, account_id: uuid.UUID, objective_ids: list[uuid.UUID]
) -> None:
    await session.execute(
        sa.delete(AccountObjective).where(AccountObjective.account_id == account_id)
    )
    if objective_ids:
        await session.execute(
            sa.insert(AccountObjective),
            [{"account_id": account_id, "objective_id": i} for i in objective_ids],
        )


async def objective_codes(session: AsyncSession, account_id: uuid.UUID) -> list[str]:
    from app.models import Objective

    rows = await session.scalars(
        sa.select(Objective.code)
        .join(AccountObjective, AccountObjective.objective_id == Objective.id)
        .where(AccountObjective.account_id == account_id)
        .order_by(Objective.code)
    )
    return list(rows)
