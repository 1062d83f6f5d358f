"""A small force for workflow tests: people, a signed guideline, accounts in each state."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Account, AuditEvent, Force, Guideline, Person
from tests.factories import make_force, make_guideline, make_person, sign

STAFF_SUB = "staff-officer-1"


@dataclass
class World:
    force: Force
    other: Force
    guideline: Guideline
    officer: Person  # a staff member linked to STAFF_SUB, who signed the guidelines
    colleague: Person  # active, signed
    unsigned: Person  # active, has not signed
    leaver: Person
    stranger: Person  # another force's person, signed there


async def make_world(session: AsyncSession) -> World:
    force = await make_force(session, "staffs")
    other = await make_force(session, "wmids")
    guideline = await make_guideline(session)
    officer = await make_person(session, force, subject=STAFF_SUB, name="Officer One")
    colleague = await make_person(session, force, name="Colleague Two")
    unsigned = await make_person(session, force, name="Unsigned Three")
    leaver = await make_person(session, force, name="Leaver Four", status="left")
    stranger = await make_person(session, other, name="Stranger Five")
    for person in (officer, colleague, leaver, stranger):
        await sign(session, person, guideline)
    return World(force, other, guideline, officer, colleague, unsigned, leaver, stranger)


async def reload(session: AsyncSession, account: Account) -> Account:
    found = await session.get(Account, account.id, populate_existing=True)
    assert found is not None
    await session.commit()  # end the read: the test session must not block the app's writers
    return found


async def events(session: AsyncSession, action: str, entity_id: object | None = None) -> list:
    query = sa.select(AuditEvent).where(AuditEvent.action == action)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == str(entity_id))
    found = list((await session.scalars(query.order_by(AuditEvent.id))).all())
    await session.commit()
    return found
