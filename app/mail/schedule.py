"""The worker's mail jobs: review campaigns' notices, reminders and escalations (hourly,
each step sent once per item) and the daily digests (once per person, kind and day).
Without `REGISTRY_SMTP_HOST` there is no relay: the jobs do nothing, and say so once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.jobs import run_campaign_reminders
from app.mail import smtp
from app.mail.digests import send_due_digests
from app.worker.jobs import job

log = logging.getLogger("app.mail.schedule")
_warned: set[str] = set()


def _relay_set(session: AsyncSession, name: str) -> bool:
    if smtp.settings_of(session).smtp_host:
        return True
    if name not in _warned:
        _warned.add(name)
        log.warning("%s: REGISTRY_SMTP_HOST is not set, so no mail is sent", name)
    return False


@job("campaigns.reminders", every=timedelta(hours=1))
async def campaign_reminders(session: AsyncSession, now: datetime) -> None:
    if _relay_set(session, "campaigns.reminders"):
        await run_campaign_reminders(session, now)


@job("mail.digests", every=timedelta(days=1))
async def daily_digests(session: AsyncSession, now: datetime) -> None:
    if _relay_set(session, "mail.digests"):
        await send_due_digests(session, now)
