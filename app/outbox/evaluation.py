"""The daily evaluation (a worker job): flags raised and cleared, reviews and sign-offs
coming due or overdue — compared with what it found last time (`flag_states`), so only
changes emit events. The first run on a database reports every standing condition.

Conditions are keyed by (entity, condition): `flag:<name>` and `review.due` /
`review.overdue` of an account, `signoff.due:<guideline>` / `signoff.overdue:<guideline>`
of a person. A flag that goes emits `flag.cleared`; a due or overdue condition that goes
(signed, reviewed) is forgotten silently.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.compliance.flags import flag_columns, flags_of
from app.guidelines import service as guidelines
from app.models import Account, FlagState, Force, Person
from app.models.enums import RELEASED_STATUSES
from app.outbox.service import emit
from app.worker.jobs import job

REVIEW_NOTICE = timedelta(days=30)
SIGNOFF_NOTICE = timedelta(days=7)
PAGE = 1000
SYSTEM = Principal(
    sub="system:worker", name=None, roles=frozenset({"admin"}), force=None, force_id=None
)


# A condition as stored in FlagState: (entity id, condition).
Condition = tuple[uuid.UUID, str]


@dataclass(frozen=True)
class Found:
    force_code: str | None
    type: str  # the event its appearance emits
    subject: dict[str, str]
    data: dict[str, Any]


async def _account_conditions(session: AsyncSession, now: datetime) -> dict[Condition, Found]:
    today = now.date()
    query = (
        sa.select(Account.id, Account.status, Account.review_due_on, Force.code.label("code"),
                  *flag_columns(now, per_row=False))
        .join(Force, Force.id == Account.force_id)
    )  # fmt: skip
    found: dict[Condition, Found] = {}
    for row in (await session.execute(query)).mappings():
        subject = {"account_id": str(row["id"])}
        for flag in flags_of(row):
            found[(row["id"], f"flag:{flag}")] = Found(
                row["code"], "flag.raised", subject, {"flag": flag}
            )
        due_on = row["review_due_on"]
        if due_on is None or row["status"] in RELEASED_STATUSES:
            continue
        data = {"review_due_on": due_on.isoformat()}
        if due_on < today:
            found[(row["id"], "review.overdue")] = Found(
                row["code"], "review.overdue", subject, data
            )
        elif due_on <= today + REVIEW_NOTICE:
            found[(row["id"], "review.due")] = Found(row["code"], "review.due", subject, data)
    return found


async def _signoff_conditions(session: AsyncSession, now: datetime) -> dict[Condition, Found]:
    items = []
    after: tuple[uuid.UUID, uuid.UUID] | None = None
    while True:
        page = await guidelines.outstanding(session, SYSTEM, force_id=None, after=after, limit=PAGE)
        items.extend(page[:PAGE])
        if len(page) <= PAGE:
            break
        after = (page[PAGE - 1].person.id, page[PAGE - 1].guideline_id)
    people = {i.person.id for i in items}
    codes: dict[uuid.UUID, str] = {}
    if people:
        rows = await session.execute(
            sa.select(Person.id, Force.code)
            .join(Force, Force.id == Person.force_id)
            .where(Person.id.in_(people))
        )
        codes = {pid: code for pid, code in rows.all()}
    found: dict[Condition, Found] = {}
    for item in items:
        subject = {"person_id": str(item.person.id), "guideline_id": str(item.guideline_id)}
        data = {"due_on": item.due_on.isoformat()}
        code = codes.get(item.person.id)
        if item.overdue:
            key = (item.person.id, f"signoff.overdue:{item.guideline_id}")
            found[key] = Found(code, "signoff.overdue", subject, data)
        elif item.due_on <= (now + SIGNOFF_NOTICE).date():
            key = (item.person.id, f"signoff.due:{item.guideline_id}")
            found[key] = Found(code, "signoff.due", subject, data)
    return found


async def evaluate_now(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Compare today's conditions with the stored ones, emit the changes, store today's."""
    current = await _account_conditions(session, now) | await _signoff_conditions(session, now)
    stored = {
        (s.entity_id, s.condition): s for s in (await session.scalars(sa.select(FlagState))).all()
    }
    counts = {"raised": 0, "cleared": 0}
    for key, found in current.items():
        if key in stored:
            continue
        emit(session, type=found.type, force_code=found.force_code, subject=found.subject,
             data=found.data)  # fmt: skip
        session.add(FlagState(entity_id=key[0], condition=key[1], force_code=found.force_code,
                              since=now))  # fmt: skip
        counts["raised"] += 1
    for key, state in stored.items():
        if key in current:
            continue
        if state.condition.startswith("flag:"):
            emit(session, type="flag.cleared", force_code=state.force_code,
                 subject={"account_id": str(state.entity_id)},
                 data={"flag": state.condition.removeprefix("flag:")})  # fmt: skip
            counts["cleared"] += 1
        await session.delete(state)
    await session.flush()
    return counts


@job("flags.evaluate", every=timedelta(days=1))
async def evaluate(session: AsyncSession, now: datetime) -> None:
    await evaluate_now(session, now)
