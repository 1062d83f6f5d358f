"""The daily email digests, `send_due_digests(session, now)`:

- to each person who runs a live account, what they must do: guidelines to sign,
  accounts whose periodic review is due within `REVIEW_AHEAD_DAYS` (or overdue), and
  accounts of open review campaigns still waiting for their attestation;
- to each comms admin of a force (`app.mail.recipients`): requests waiting for a
  decision (not their own: four eyes), the flags raised, and campaign progress.

At most one digest per person, kind and day (`sent_digests`): a second run the same day
sends only what the first did not. An email names only what its recipient may see and
never carries a token or a sign-in link. Nothing to do, no digest.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import repository as campaign_rows
from app.campaigns import service as campaigns
from app.db import DATABASE
from app.guidelines import service as guidelines
from app.mail import recipients, smtp
from app.models import (
    Account,
    Campaign,
    CampaignItem,
    Custodianship,
    Force,
    Person,
    Request,
    SentDigest,
)
from app.models.enums import FLAGS, RELEASED_STATUSES
from app.reports import service as reports

log = logging.getLogger(__name__)
REVIEW_AHEAD_DAYS = 14
MAX_LISTED = 25
ITEMS = CampaignItem.__table__


async def _operators(session: AsyncSession, force_id: uuid.UUID) -> list[Person]:
    runs_live = (
        sa.select(Custodianship.id)
        .join(Account, Account.id == Custodianship.account_id)
        .where(
            Custodianship.person_id == Person.id,
            Custodianship.valid_to.is_(None),
            Account.status.not_in(RELEASED_STATUSES),
        )
        .exists()
    )
    query = sa.select(Person).where(
        Person.force_id == force_id,
        Person.status == "active",
        Person.email.is_not(None),
        runs_live,
    )
    return list((await session.scalars(query.order_by(Person.name, Person.id))).all())


async def _reviews_due(
    session: AsyncSession, force_id: uuid.UUID, today: Any
) -> dict[Any, list[dict[str, Any]]]:
    query = (
        sa.select(Account.owner_id, Account.platform, Account.handle, Account.review_due_on)
        .where(
            Account.force_id == force_id,
            Account.status.in_(campaigns.ATTESTABLE),
            Account.review_due_on <= today + timedelta(days=REVIEW_AHEAD_DAYS),
            Account.owner_id.is_not(None),
        )
        .order_by(Account.review_due_on, Account.handle)
    )
    out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in (await session.execute(query)).all():
        out[row.owner_id].append(row._asdict())
    return out


async def _campaign_items(
    session: AsyncSession, force_id: uuid.UUID
) -> dict[Any, list[dict[str, Any]]]:
    query = (
        sa.select(
            ITEMS.c.owner_id, Campaign.name.label("campaign"), Campaign.due_on,
            Account.platform, Account.handle,
        )
        .select_from(ITEMS)
        .join(Campaign, Campaign.id == ITEMS.c.campaign_id)
        .join(Account, Account.id == ITEMS.c.account_id)
        .where(
            ITEMS.c.force_id == force_id,
            Campaign.status == "open",
            ITEMS.c.status.in_(("pending", "overdue")),
            Account.owner_id == ITEMS.c.owner_id,  # still theirs
            sa.not_(campaign_rows.attested(Campaign.created_at)),
        )
        .order_by(Campaign.due_on, Account.handle)
    )  # fmt: skip
    out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in (await session.execute(query)).all():
        out[row.owner_id].append(row._asdict())
    return out


async def _waiting_requests(session: AsyncSession, force_id: uuid.UUID) -> list[Any]:
    query = (
        sa.select(
            Request.kind, Request.created_at, Request.requested_by,
            Request.requested_by_person_id, Account.platform, Account.handle,
        )
        .join(Account, Account.id == Request.account_id)
        .where(Request.force_id == force_id, Request.status == "submitted")
        .order_by(Request.created_at, Request.id)
    )  # fmt: skip
    return list((await session.execute(query)).all())


async def _already_sent(
    session: AsyncSession, force_id: uuid.UUID, day: Any
) -> set[tuple[uuid.UUID, str]]:
    query = sa.select(SentDigest.person_id, SentDigest.kind).where(
        SentDigest.force_id == force_id, SentDigest.day == day
    )
    return {(r[0], r[1]) for r in (await session.execute(query)).all()}


async def _person_mails(
    session: AsyncSession, force: Force, today: Any, sent: set[tuple[uuid.UUID, str]]
) -> list[tuple[uuid.UUID, str, smtp.Mail]]:
    reviews = await _reviews_due(session, force.id, today)
    items = await _campaign_items(session, force.id)
    out = []
    for person in await _operators(session, force.id):
        if (person.id, "person") in sent:
            continue
        signoffs = await guidelines.outstanding_for_person(session, person.id, force.id)
        mine_reviews, mine_items = reviews.get(person.id, []), items.get(person.id, [])
        if not (signoffs or mine_reviews or mine_items):
            continue
        mail = smtp.render(
            "digest_person", person.email or "", f"Your registry to-do list for {today}",
            name=person.name, day=today, signoffs=signoffs,
            reviews=mine_reviews[:MAX_LISTED], campaign_items=mine_items[:MAX_LISTED],
        )  # fmt: skip
        out.append((person.id, "person", mail))
    return out


async def _comms_mails(
    session: AsyncSession, force: Force, now: datetime, sent: set[tuple[uuid.UUID, str]]
) -> list[tuple[uuid.UUID, str, smtp.Mail]]:
    admins = [
        a
        for a in await recipients.comms_admins(session, force, now)
        if (a.person_id, "comms") not in sent
    ]
    if not admins:
        return []
    waiting = await _waiting_requests(session, force.id)
    open_campaigns = []
    for campaign, _ in await campaign_rows.open_campaigns(session, force.id):
        progress = await campaigns.progress(session, campaign)
        open_campaigns.append(
            {"name": campaign.name, "due_on": campaign.due_on, "total": progress.total,
             **progress.by_status}
        )  # fmt: skip
    database = session.info[DATABASE]
    out = []
    for admin in admins:
        viewer = admin.principal(("comms_admin",))
        (summary,) = await reports.summary(session, database, viewer, None)
        flags = [(f, n) for f in FLAGS if (n := getattr(summary.by_flag, f))]
        theirs = [
            r for r in waiting
            if r.requested_by != admin.subject and r.requested_by_person_id != admin.person_id
        ]  # fmt: skip
        if not (theirs or flags or open_campaigns):
            continue
        mail = smtp.render(
            "digest_comms", admin.email, f"The {force.name} registry on {now.date()}",
            name=admin.name, force=force.name, day=now.date(),
            requests_total=len(theirs), own_requests=len(theirs) < len(waiting),
            requests=[
                {"kind": r.kind.replace("_", " "), "platform": r.platform, "handle": r.handle,
                 "submitted": r.created_at.date()}
                for r in theirs[:MAX_LISTED]
            ],
            flags=flags, campaigns=open_campaigns,
        )  # fmt: skip
        out.append((admin.person_id, "comms", mail))
    return out


async def send_due_digests(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Send today's digests not sent yet, force by force (one SMTP connection each); each
    one sent is recorded in the caller's transaction."""
    settings = smtp.settings_of(session)
    today = now.date()
    stats = {"person": 0, "comms": 0, "refused": 0}
    for force in (await session.scalars(sa.select(Force).order_by(Force.code))).all():
        sent = await _already_sent(session, force.id, today)
        batch = await _person_mails(session, force, today, sent)
        batch += await _comms_mails(session, force, now, sent)
        if not batch:
            continue
        refused = set(await smtp.send(settings, [mail for _, _, mail in batch]))
        for person_id, kind, mail in batch:
            if mail.to in refused:
                stats["refused"] += 1
                continue
            session.add(SentDigest(force_id=force.id, person_id=person_id, kind=kind, day=today))
            stats[kind] += 1
        await session.flush()
    return stats
