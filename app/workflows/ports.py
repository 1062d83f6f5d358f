"""What the workflows need from the accounts and guidelines domains, in one place.

Effects of requests change accounts: status and classification on the account row
(locked by the workflow), the owner through the accounts domain's custodianship
intervals, and objectives. Sign-off rules are the guidelines domain's.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.custody import change_owner, end_custodianships, get_visible
from app.guidelines.service import has_signed_current
from app.models import AccountObjective, Objective

__all__ = [
    "change_owner",
    "end_custodianships",
    "get_visible",
    "has_signed_current",
    "objective_codes",
    "replace_objectives",
]


# The accounts service changes objectives only through an If-Match edit of the whole
# account; a completed transfer applies the objectives it was approved with.
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
    rows = await session.scalars(
        sa.select(Objective.code)
        .join(AccountObjective, AccountObjective.objective_id == Objective.id)
        .where(AccountObjective.account_id == account_id)
        .order_by(Objective.code)
    )
    return list(rows)
