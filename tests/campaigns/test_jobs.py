"""Campaign notices, reminders (7 days and 1 day before) and escalation, through a real
SMTP server; each step mails an item once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.campaigns.jobs import escalation_lines, run_campaign_reminders
from app.mail.recipients import Recipient
from app.models import AuditEvent, CampaignItem
from tests.factories import make_account, make_force, make_person
from tests.mail.inbox import text_of

CAMPAIGNS = "/api/v1/campaigns"


async def _run(session, at):
    stats = await run_campaign_reminders(session, at)
    await session.commit()
    return stats


async def test_owners_are_notified_reminded_and_overdue_items_escalate(
    client, tokens, session, inbox
):
    force = await make_force(session, "staffs")
    await make_person(
        session, force, subject="comms@staffs", name="Cara Comms", email="cara@staffs.police.uk"
    )
    owner = await make_person(session, force, name="Owen Owner", email="owen@staffs.police.uk")
    other = await make_person(session, force, name="Ola Other", email="ola@staffs.police.uk")
    leaver = await make_person(session, force, name="Len Leaver", status="left")
    mine = [await make_account(session, force, owner=owner, handle=f"owen{i}") for i in range(2)]
    theirs = await make_account(session, force, owner=other, handle="olaacct")
    await make_account(session, force, owner=leaver, handle="leftbehind", is_anonymous=True)
    start = clock.now()
    due = clock.today() + timedelta(days=10)
    r = await client.post(
        CAMPAIGNS,
        json={"name": "Spring review", "due_on": due.isoformat(), "message": "Please attest."},
        headers=tokens.headers("comms_admin", sub="comms@staffs"),
    )
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]

    # First run: one notice per owner listing their accounts; the orphan goes to comms.
    stats = await _run(session, start)
    assert stats["notified"] == 3 and stats["escalated"] == 1
    (notice,) = inbox.to("owen@staffs.police.uk")
    plain, html = text_of(notice)
    assert "Spring review" in notice["Subject"]
    assert "owen0" in plain and "owen1" in html and "Please attest." in plain
    (escalation,) = inbox.to("cara@staffs.police.uk")
    plain, _ = text_of(escalation)
    assert "leftbehind" in plain and "no active owner" in plain
    assert "Len Leaver" in plain  # comms admins see every operator of their force
    inbox.take()
    assert (await _run(session, start + timedelta(hours=1)))["mails"] == 0

    # Ola attests; Owen does not. Seven days before: a reminder to Owen only.
    as_ola = tokens.headers("staff", sub="ola@staffs")
    other.subject = "ola@staffs"
    session.add(other)
    await session.commit()
    a = await client.post(
        f"/api/v1/accounts/{theirs.id}/attest", json={"still_needed": True}, headers=as_ola
    )
    assert a.status_code in (200, 201), a.text
    seven = start + timedelta(days=3)
    clock.freeze(seven)
    stats = await _run(session, seven)
    assert stats["reminded"] == 2 and [m["To"] for m in inbox.messages] == ["owen@staffs.police.uk"]
    assert "7 days" in inbox.take()[0]["Subject"]
    assert (await _run(session, seven + timedelta(days=1)))["mails"] == 0

    one = start + timedelta(days=9)
    clock.freeze(one)
    assert (await _run(session, one))["reminded"] == 2
    assert "1 day" in inbox.take()[0]["Subject"]

    # Past the due day: Owen's two go to the comms team, once.
    late = start + timedelta(days=11)
    clock.freeze(late)
    stats = await _run(session, late)
    assert stats["escalated"] == 2
    (escalation,) = inbox.take()
    assert escalation["To"] == "cara@staffs.police.uk"
    assert "owen0" in text_of(escalation)[0] and "overdue" in text_of(escalation)[0]
    assert (await _run(session, late + timedelta(days=1)))["mails"] == 0
    statuses = (
        await session.execute(sa.select(CampaignItem.account_id, CampaignItem.status))
    ).all()
    by_account = dict(statuses)
    assert by_account[mine[0].id] == "overdue" and by_account[theirs.id] == "pending"
    escalated = (
        await session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "campaign.escalated", AuditEvent.entity_id == campaign_id
            )
        )
    ).all()
    assert len(escalated) == 2
    await session.commit()
    got = (
        await client.get(f"{CAMPAIGNS}/{campaign_id}", headers=tokens.headers("comms_admin"))
    ).json()
    assert got["progress"]["by_status"] == {
        "pending": 0, "attested": 1, "overdue": 2, "orphaned": 1
    }  # fmt: skip


def test_an_escalation_names_an_anonymous_owner_only_to_who_may_see_them():
    force_id = uuid.uuid4()

    class Row:
        platform, handle, display_name, status = "x", "quietbeat", "Quiet", "orphaned"
        is_anonymous, owner_name = True, "Hugo Hidden"

    Row.force_id = force_id
    comms = Recipient(force_id, "Cara", "c@x", "comms@x", force_id, "staffs")
    (line,) = escalation_lines([Row()], comms)
    assert line["owner"] == "Hugo Hidden"
    # The same rule for someone who may not see the operators: the owner is left out.
    stranger = Recipient(force_id, "Sam", "s@x", "sam@x", uuid.uuid4(), "wmids")
    (line,) = escalation_lines([Row()], stranger)
    assert line["owner"] is None
