"""The campaigns' periodic work, `run_campaign_reminders(session, now)`: owners are told
of a new campaign, reminded seven days and one day before it is due, and what is overdue
or orphaned goes to the force's comms admins. Each item is mailed at most once per step
(a timestamp on the item), the marks and the mails in the caller's transaction: the mails
go out after the marks are flushed, and a failed send raises, so the caller rolls the
marks back and the next run sends again (at least once).

Registered with the worker as a scheduled job after merge; `registry digests --now`
runs it too.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.service import Actor
from app.auth import redaction
from app.campaigns import repository
from app.mail import recipients, smtp
from app.models import Campaign, Force

log = logging.getLogger(__name__)
ITEMS = repository.ITEMS
SYSTEM = Actor(sub="system:campaigns", roles=[], force=None)


def _account(row: Any) -> dict[str, Any]:
    return {"platform": row.platform, "handle": row.handle, "display_name": row.display_name}


def _owner_mails(
    rows: list[Any], campaign: Campaign, template: str, subject: str, **extra: Any
) -> list[smtp.Mail]:
    by_owner: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        if row.owner_email and row.owner_status == "active":
            by_owner[row.owner_id].append(row)
    return [
        smtp.render(
            template,
            owned[0].owner_email,
            subject,
            name=owned[0].owner_name,
            campaign=campaign,
            accounts=[_account(r) for r in owned],
            **extra,
        )
        for owned in by_owner.values()
    ]


def escalation_lines(rows: list[Any], recipient: recipients.Recipient) -> list[dict[str, Any]]:
    """What a comms admin is told of each escalated item: the owner is named only where
    the recipient may see the account's operators (`app.auth.redaction`)."""
    viewer = recipient.principal(("comms_admin",))
    lines = []
    for row in rows:
        shown = redaction.sees_operators(viewer, row.force_id, row.is_anonymous, False)
        lines.append(
            {
                **_account(row),
                "reason": row.status if row.status == "orphaned" else "overdue",
                "owner": row.owner_name if shown and row.owner_name else None,
            }
        )
    return lines


async def run_campaign_reminders(session: AsyncSession, now: datetime) -> dict[str, int]:
    settings = smtp.settings_of(session)
    today = now.date()
    mails: list[smtp.Mail] = []
    stats = dict.fromkeys(("notified", "reminded", "escalated", "mails"), 0)
    for campaign, _code in await repository.open_campaigns(session):
        days_left = (campaign.due_on - today).days
        # 1. The owners of items not yet told (a notice close to the date stands for the
        #    reminders it would otherwise be followed by at once).
        fresh = sa.and_(ITEMS.c.status == "pending", ITEMS.c.notified_at.is_(None))
        rows = await repository.items_to_mail(session, campaign, fresh)
        if rows:
            mails += _owner_mails(
                rows, campaign, "campaign_notice", f"Review campaign: {campaign.name}"
            )
            values: dict[str, Any] = {"notified_at": now}
            if days_left <= 7:
                values["reminded_7_at"] = now
            if days_left <= 1:
                values["reminded_1_at"] = now
            await repository.mark(session, campaign, fresh, values)
            stats["notified"] += len(rows)
        # 2. Reminders seven days and one day before.
        step = "reminded_1_at" if 0 <= days_left <= 1 else "reminded_7_at"
        if 0 <= days_left <= 7:
            due = sa.and_(ITEMS.c.status == "pending", ITEMS.c[step].is_(None))
            rows = await repository.items_to_mail(session, campaign, due)
            if rows:
                mails += _owner_mails(
                    rows, campaign, "campaign_reminder",
                    f"Reminder: {campaign.name} is due in {days_left} day"
                    f"{'s' if days_left != 1 else ''}",
                    days_left=days_left,
                )  # fmt: skip
                marks = {step: now, "reminded_7_at": sa.func.coalesce(ITEMS.c.reminded_7_at, now)}
                await repository.mark(session, campaign, due, marks)
                stats["reminded"] += len(rows)
        # 3. Overdue and orphaned items, to the comms admins of the campaign's force.
        overdue = sa.and_(
            ITEMS.c.status == "pending", sa.true() if today > campaign.due_on else sa.false()
        )
        orphaned = sa.and_(ITEMS.c.status == "orphaned", ITEMS.c.escalated_at.is_(None))
        rows = await repository.items_to_mail(session, campaign, sa.or_(overdue, orphaned))
        if rows:
            force = await session.get(Force, campaign.force_id)
            assert force is not None
            admins = await recipients.comms_admins(session, force, now)
            if not admins:
                log.warning("campaign %s: no comms admin to escalate to", campaign.id)
            for admin in admins:
                mails.append(
                    smtp.render(
                        "campaign_escalation", admin.email,
                        f"Escalated: {len(rows)} account(s) in {campaign.name}",
                        name=admin.name, campaign=campaign,
                        accounts=escalation_lines(rows, admin),
                    )
                )  # fmt: skip
            await repository.mark(session, campaign, overdue, {"status": "overdue"})
            await repository.mark(
                session, campaign, sa.or_(overdue, orphaned, ITEMS.c.status == "overdue")
                & ITEMS.c.escalated_at.is_(None), {"escalated_at": now},
            )  # fmt: skip
            audit.record(
                session, SYSTEM, "campaign.escalated", "campaign", campaign.id,
                {"escalated": [None, len(rows)]}, force_id=campaign.force_id,
            )  # fmt: skip
            stats["escalated"] += len(rows)
    await session.flush()
    if mails:
        await smtp.send(settings, mails)
    stats["mails"] = len(mails)
    return stats
