"""The daily evaluation: flags raised and cleared, reviews and sign-offs coming due or
overdue — compared with what it found last time (`flag_states`), so only changes emit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.worker.jobs import job


@job("flags.evaluate", every=timedelta(days=1))
async def evaluate(session: AsyncSession, now: datetime) -> None:
    return None
