"""A small registry for the fuzzer to find real objects in: two forces, units, people (one of
them the token's subject), objectives, accounts in several states, guidelines and sign-offs,
activity, a request, a legal hold and an attestation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from tests.factories import (
    make_account,
    make_activity,
    make_force,
    make_guideline,
    make_objective,
    make_person,
    make_unit,
    sign,
)

HOME = "staffs"
OTHER = "wmids"
OWNER_SUBJECT = "owner@staffs"


@dataclass
class World:
    """Ids of the seeded objects of the home force (`ids`) and of the other (`away`), by kind;
    the fuzzer aims its valid cases at these."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    # Objects that edits and moves may change or end, so that `ids` stay fit to refer to.
    spare: dict[str, list[str]] = field(default_factory=dict)
    away: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, *values: uuid.UUID) -> None:
        self.ids.setdefault(kind, []).extend(str(v) for v in values)

    def add_spare(self, kind: str, *values: uuid.UUID) -> None:
        self.spare.setdefault(kind, []).extend(str(v) for v in values)

    def add_away(self, kind: str, *values: uuid.UUID) -> None:
        self.away.setdefault(kind, []).extend(str(v) for v in values)


async def seed(
    session: AsyncSession,
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    subjects: dict[str, str],
) -> World:
    """Build the world; `headers` are bearer headers per role, `subjects` the `sub` of each."""
    world = World()
    home = await make_force(session, HOME)
    other = await make_force(session, OTHER)
    world.codes["force"] = [HOME, OTHER]

    hq = await make_unit(session, home, name="Headquarters", kind="hq")
    team = await make_unit(session, home, name="Dog Unit", kind="specialist", parent_id=hq.id)
    away = await make_unit(session, other, name="Away HQ", kind="hq")
    world.add("unit", hq.id, team.id)
    world.add_spare(
        "unit", *[(await make_unit(session, home, name=f"Spare {n}")).id for n in range(3)]
    )
    world.add_away("unit", away.id)

    people = {
        role: await make_person(session, home, subject=sub, name=f"Fuzz {role}")
        for role, sub in subjects.items()
    }
    owner = await make_person(
        session, home, name="Owner One", unit_id=team.id, subject=OWNER_SUBJECT
    )
    editor = await make_person(session, home, name="Editor Two")
    leaver = await make_person(session, home, name="Leaver Three")
    stranger = await make_person(session, other, name="Away Four")
    world.add("person", *(p.id for p in people.values()), owner.id, editor.id, leaver.id)
    world.add_away("person", stranger.id)
    world.add_spare(
        "person", *[(await make_person(session, home, name=f"Spare {n}")).id for n in range(3)]
    )

    strategy = await make_objective(session, home, code="ENGAGE", title="Engage communities")
    reassure = await make_objective(session, home, code="REASSURE", title="Reassure the public")
    away_obj = await make_objective(session, other, code="ENGAGE", title="Away objective")
    world.add("objective", strategy.id, reassure.id)
    world.add_away("objective", away_obj.id)
    world.add_spare(
        "objective", *[(await make_objective(session, home, code=f"SPARE{n}")).id for n in range(3)]
    )
    world.codes["objective"] = ["ENGAGE", "REASSURE"]

    national = await make_guideline(session, None, code="social-media")
    local = await make_guideline(session, home, code="staffs-local", version=1)
    world.add("guideline", national.id, local.id)
    for person in (*people.values(), owner, editor):
        await sign(session, person, national)
        await sign(session, person, local)

    live = await make_account(
        session,
        home,
        handle="staffspoldogs",
        owner=owner,
        editors=(editor,),
        objectives=(strategy,),
        unit_id=team.id,
    )
    unofficial = await make_account(
        session, home, handle="pcjonesbeat", owner=owner, classification="unofficial"
    )
    pending = await make_account(
        session,
        home,
        platform="facebook",
        handle="staffsnewsroom",
        url="https://facebook.com/staffsnewsroom",
        status="pending_approval",
        owner=editor,
    )
    corporate = await make_account(
        session,
        home,
        platform="instagram",
        handle="staffspolice",
        url="https://instagram.com/staffspolice",
        classification="corporate",
        owner=owner,
        objectives=(reassure,),
    )
    gone = await make_account(session, home, handle="oldstaffsbeat", status="decommissioned")
    away_acct = await make_account(session, other, handle="wmpdogs", owner=stranger)
    world.add("account", live.id, unofficial.id, pending.id, corporate.id, gone.id)
    world.add_away("account", away_acct.id)
    live_accounts = (live, unofficial, pending, corporate)
    world.add("live_account", *(a.id for a in live_accounts))
    world.codes["url"] = [a.url for a in live_accounts]
    world.codes["account"] = [f"{a.platform}:{a.handle}" for a in live_accounts]

    today = clock.today()
    start = today.replace(day=1) - timedelta(days=31)
    period = await make_activity(
        session,
        live,
        start.replace(day=1),
        _month_end(start),
        original_posts=30,
        reposts=5,
        replies=12,
        followers=1800,
    )
    world.add("activity", period.id)

    # Workflow objects go through the API, so their checklists and audit events are real.
    comms = headers["comms_admin"]
    psd = headers["psd"]
    reply = await client.post(
        "/api/v1/requests",
        json={
            "kind": "decommission",
            "account_id": str(corporate.id),
            "reason": "Merged",
            "details": {"reason_code": "centralised"},
        },
        headers=comms,
    )
    reply.raise_for_status()
    world.add("request", uuid.UUID(reply.json()["id"]))
    reply = await client.post(
        f"/api/v1/accounts/{unofficial.id}/holds",
        json={"case_reference": "PSD-2026-001", "reason": "Complaint under investigation"},
        headers=psd,
    )
    reply.raise_for_status()
    world.add("hold", uuid.UUID(reply.json()["id"]))
    owner_headers = headers["owner"]
    reply = await client.post(
        f"/api/v1/accounts/{live.id}/attest",
        json={"still_needed": True, "note": "Busy account"},
        headers=owner_headers,
    )
    reply.raise_for_status()
    world.add("attestation", uuid.UUID(reply.json()["id"]))
    await session.close()
    return world


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)
