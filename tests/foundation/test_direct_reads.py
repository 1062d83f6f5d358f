"""`Database.fetch`: single-statement reads outside a transaction (the GET fast path)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.models import Account
from tests.factories import make_account, make_force


@pytest.fixture
async def staffs(session):
    return await make_force(session, "staffs")


ANY_OF = sa.select(Account.id, Account.handle).where(
    Account.status.in_(("active", "pending")),  # a fixed list, rendered once
    Account.handle == sa.bindparam("handle", type_=sa.String()),
)


async def test_fetch_binds_the_callers_values_and_keeps_the_statements_own(db, session, staffs):
    active = await make_account(session, staffs, status="active")
    closed = await make_account(session, staffs, status="decommissioned")
    await session.commit()

    rows = await db.fetch(ANY_OF, {"handle": active.handle})
    assert [(r["id"], r["handle"]) for r in rows] == [(active.id, active.handle)]
    assert await db.fetch(ANY_OF, {"handle": closed.handle}) == []
    # The same statement again (planned once on PostgreSQL) with other values.
    assert len(await db.fetch(ANY_OF, {"handle": active.handle})) == 1


async def test_fetch_sees_what_was_committed_a_moment_ago(db, session, staffs):
    account = await make_account(session, staffs, status="active")
    await session.commit()
    assert len(await db.fetch(ANY_OF, {"handle": account.handle})) == 1


async def test_a_list_the_caller_supplies_cannot_be_planned_on_postgresql(db):
    statement = sa.select(Account.id).where(
        Account.handle.in_(sa.bindparam("handles", expanding=True))
    )
    if db.is_sqlite:
        assert await db.fetch(statement, {"handles": ["x"]}) == []
    else:
        with pytest.raises(TypeError, match="expanding"):
            await db.fetch(statement, {"handles": ["x"]})
