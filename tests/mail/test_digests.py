"""Daily digests through a real SMTP server: what each person must do, what each comms
admin must know; one per person per day; no token, no hidden operator."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.mail.digests import send_due_digests
from app.models import SentDigest
from tests.factories import make_account, make_force, make_guideline, make_person, make_request
from tests.mail.inbox import text_of

TOKEN_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{10,}|Bearer", re.IGNORECASE)


async def _world(client, tokens, session):
    force = await make_force(session, "staffs")
    comms = await make_person(
        session, force, subject="comms@staffs", name="Cara Comms", email="cara@staffs.police.uk"
    )
    owner = await make_person(session, force, name="Owen Owner", email="owen@staffs.police.uk")
    hidden = await make_person(session, force, name="Hugo Hidden", email="hugo@staffs.police.uk")
    await make_guideline(
        session, title="Social media guidelines", effective_from=clock.now() - timedelta(days=60)
    )
    due = clock.today() + timedelta(days=5)
    account = await make_account(
        session, force, owner=owner, handle="staffsdogs", review_due_on=due
    )
    anon = await make_account(
        session, force, owner=hidden, handle="quietbeat", is_anonymous=True,
        classification="unofficial",
    )  # fmt: skip
    await make_request(session, anon, requested_by="someone@staffs")
    # The comms admin acts in the registry as one (that is how the digest knows them):
    # here by submitting a request, which is then not theirs to decide.
    r = await client.post(
        "/api/v1/requests",
        json={"kind": "decommission", "account_id": str(account.id),
              "details": {"reason_code": "dormant"}},
        headers=tokens.headers("comms_admin", sub="comms@staffs"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return force, comms, owner, hidden, account


async def test_each_person_gets_one_digest_a_day_of_what_they_must_do(
    client, tokens, session, inbox
):
    _force, _comms, _owner, _hidden, _account = await _world(client, tokens, session)
    stats = await send_due_digests(session, clock.now())
    await session.commit()
    assert stats["person"] == 2 and stats["comms"] == 1, stats

    (to_owner,) = inbox.to("owen@staffs.police.uk")
    assert to_owner["From"] == "registry@staffs.police.uk"
    plain, html = text_of(to_owner)
    assert "Social media guidelines" in plain and "Social media guidelines" in html
    assert "staffsdogs" in plain and "staffsdogs" in html  # its review is due in 5 days
    assert "quietbeat" not in plain + html  # not theirs
    assert "Hugo Hidden" not in plain + html

    (to_hidden,) = inbox.to("hugo@staffs.police.uk")
    plain, html = text_of(to_hidden)
    assert "Social media guidelines" in plain and "Owen Owner" not in plain + html

    # Four eyes: the comms admin's own request is not waiting for them; the other one is.
    (to_comms,) = inbox.to("cara@staffs.police.uk")
    plain, html = text_of(to_comms)
    assert "Requests waiting for a decision: 1" in plain
    assert "quietbeat" in plain and "quietbeat" in html
    assert "guidelines_outstanding" in plain  # flags raised
    for msg in inbox.messages:
        body = "".join(text_of(msg))
        assert not TOKEN_LIKE.search(body), "no token in any email"

    # Later the same day (the last second of it, whatever the hour now): nothing new.
    inbox.take()
    late = clock.now().replace(hour=23, minute=59, second=59, microsecond=0)
    again = await send_due_digests(session, late)
    await session.commit()
    assert again["person"] == again["comms"] == 0 and inbox.messages == []
    rows = (await session.scalars(sa.select(SentDigest))).all()
    assert len(rows) == 3
    await session.commit()

    # Tomorrow: a new digest each.
    tomorrow = await send_due_digests(session, clock.now() + timedelta(days=1))
    await session.commit()
    assert tomorrow["person"] == 2 and len(inbox.messages) == 3


async def test_nothing_to_do_sends_nothing(client, tokens, session, inbox):
    force = await make_force(session, "staffs")
    await make_person(session, force, email="idle@staffs.police.uk")
    stats = await send_due_digests(session, clock.now())
    await session.commit()
    assert stats == {"person": 0, "comms": 0, "refused": 0} and inbox.messages == []


async def test_a_relay_that_is_down_records_nothing_as_sent(client, tokens, session, inbox, db):
    await _world(client, tokens, session)
    db.settings.smtp_port = 1  # nothing listens there
    try:
        raised = None
        try:
            await send_due_digests(session, clock.now())
        except OSError as exc:
            raised = exc
        assert raised is not None
        await session.rollback()
    finally:
        pass
    assert (await session.scalars(sa.select(SentDigest))).all() == []
    await session.commit()
