"""Domain events into the outbox, in the caller's transaction (SPEC §8).

`emit` adds a row beside the change it reports: both commit or neither does, and the
worker (`registry worker`) delivers what committed. Each event has a stable uuid, so a
receiver that sees one twice (delivery is at least once) can tell.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit.chain import jsonable
from app.models import Force, OutboxEvent
from app.outbox.catalogue import TYPE_PATTERN

_CODES = "outbox.force_codes"


def emit(
    session: AsyncSession,
    *,
    type: str,
    force_code: str | None,
    subject: dict[str, str],
    data: dict[str, Any] | None = None,
) -> None:
    """Queue an event in this transaction (written at the next flush, committed with it)."""
    if not TYPE_PATTERN.match(type):
        raise ValueError(f"event types are dotted lower-case names, not {type!r}")
    session.add(
        OutboxEvent(
            id=uuid.uuid4(),
            type=type,
            force_code=force_code,
            subject={k: str(v) for k, v in subject.items() if v is not None},
            data=jsonable(data or {}),
            created_at=clock.now(),
        )
    )


async def force_code_of(session: AsyncSession, force_id: uuid.UUID | None) -> str | None:
    """The code of a force (memoised for the session: codes never change)."""
    if force_id is None:
        return None
    codes: dict[uuid.UUID, str] = session.sync_session.info.setdefault(_CODES, {})
    if force_id not in codes:
        code = await session.scalar(sa.select(Force.code).where(Force.id == force_id))
        if code is None:
            return None
        codes[force_id] = code
    return codes[force_id]


async def emit_in_force(
    session: AsyncSession,
    force_id: uuid.UUID | None,
    *,
    type: str,
    subject: dict[str, Any],
    data: dict[str, Any] | None = None,
) -> None:
    """`emit` for a caller that holds the force's id rather than its code."""
    emit(
        session,
        type=type,
        force_code=await force_code_of(session, force_id),
        subject={k: str(v) for k, v in subject.items() if v is not None},
        data=data,
    )
