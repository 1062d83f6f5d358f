"""Fictional demo data: forces, units, people, accounts in every state, guidelines, activity.

The demo world is made the way the API makes it: every row comes from a domain service,
called with a Principal of the role that would do it, so the demo cannot drift from what
the API creates (a decommission approved here gets its checklist rows, a declaration its
registration request, every change its audit event). The history is played forward with
the clock fixed at each step (`clock.frozen_at`), oldest first, so that dates in the past
(sign-offs, leavers, review dates, holds) are the services' own and the audit chain runs
in time order.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.accounts import service as accounts
from app.accounts.schemas import AccountCreate, AccountFilter
from app.activity import service as activity
from app.activity.schemas import ActivityIn
from app.auth.principal import Principal
from app.campaigns import service as campaigns
from app.campaigns.schemas import CampaignCreate
from app.compliance import service as compliance
from app.compliance.schemas import AttestIn
from app.config import Settings
from app.db import Database
from app.forces import service as forces
from app.forces.schemas import ForceCreate
from app.guidelines import service as guidelines
from app.guidelines.schemas import GuidelineCreate, GuidelineRead
from app.holds import service as holds
from app.holds.schemas import HoldCreate
from app.models import Account, Force, Person
from app.objectives import service as objectives
from app.objectives.schemas import ObjectiveCreate
from app.people import service as people
from app.people.schemas import LeaveBody, PersonCreate
from app.units import service as units
from app.units.schemas import UnitCreate, UnitKind
from app.workflows import service as workflows
from app.workflows.checklists import CHECKLISTS
from app.workflows.schemas import (
    ChecklistUpdate,
    DecommissionDetails,
    DecommissionRequestCreate,
)

DEMO_CALLERS: list[dict[str, Any]] = [
    {"label": "admin (national)", "sub": "admin@registry", "roles": ["admin"],
     "name": "Registry Administrator"},
    {"label": "auditor (national)", "sub": "auditor@inspectorate", "roles": ["auditor"],
     "name": "National Auditor"},
    {"label": "comms_admin (staffs)", "sub": "comms.lead@staffs", "roles": ["comms_admin"],
     "force": "staffs", "name": "Priya Shah"},
    {"label": "comms_admin #2 (staffs)", "sub": "comms.deputy@staffs", "roles": ["comms_admin"],
     "force": "staffs", "name": "Tom Baker"},
    {"label": "staff (staffs)", "sub": "pc.jones@staffs", "roles": ["staff"],
     "force": "staffs", "name": "PC Sam Jones"},
    {"label": "psd (staffs)", "sub": "psd.investigator@staffs", "roles": ["psd"],
     "force": "staffs", "name": "DS Alex Morgan"},
    {"label": "collector (staffs)", "sub": "collector@staffs", "roles": ["collector"],
     "force": "staffs", "name": "Activity collector"},
    {"label": "comms_admin (wmids)", "sub": "comms.lead@wmids", "roles": ["comms_admin"],
     "force": "wmids", "name": "Jo Evans"},
]  # fmt: skip


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _World:
    """The demo being built: a session, the present it ends at, and who acts."""

    session: AsyncSession
    now: datetime
    forces: dict[str, Force] = field(default_factory=dict)
    units: dict[str, uuid.UUID] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    policies: dict[str, GuidelineRead] = field(default_factory=dict)
    # By the handle as written here (or a key of its own where the link names it).
    by_handle: dict[str, Account] = field(default_factory=dict)

    @contextmanager
    def days_ago(self, days: int) -> Iterator[None]:
        with clock.frozen_at(self.now - timedelta(days=days)):
            yield

    def caller(self, sub: str) -> Principal:
        """A demo caller (DEMO_CALLERS) as the service sees it."""
        spec = next(c for c in DEMO_CALLERS if c["sub"] == sub)
        return self.principal(sub, spec["roles"], spec.get("force"), spec["name"])

    def principal(
        self, sub: str, roles: list[str], force: str | None, name: str | None = None
    ) -> Principal:
        force_id = self.forces[force].id if force is not None else None
        return Principal(sub, name, frozenset(roles), force, force_id)

    def signed_in(self, person: str) -> Principal:
        """A demo person signed in under their subject (no token is printed for most)."""
        p = self.people[person]
        assert p.subject is not None
        force = next(code for code, f in self.forces.items() if f.id == p.force_id)
        return self.principal(p.subject, ["staff"], force, p.name)

    async def account(self, by: Principal, key: str | None = None, **fields: Any) -> Account:
        if "url" not in fields:
            fields.setdefault("platform", "x")
        created = await accounts.create_account(self.session, by, AccountCreate(**fields))
        self.by_handle[key or fields["handle"]] = created
        return created

    async def open_request_of(self, by: Principal, account: Account) -> uuid.UUID:
        rows, _ = await workflows.page(
            self.session, by, force=None, status="submitted", kind=None,
            account_id=account.id, mine=False, cursor=None, limit=1,
        )  # fmt: skip
        return rows[0][0].id


async def load_demo(settings: Settings) -> None:
    db = Database(settings)
    try:
        async with db.session() as session:
            await build_demo(session)
            await session.commit()
    finally:
        await db.dispose()


async def build_demo(session: AsyncSession) -> None:
    """The demo world, in `session` (flushed, not committed), on an empty database."""
    await _build(_World(session, clock.now()))


async def _build(w: _World) -> None:
    await _organisation(w)
    await _registered_accounts(w)
    await _declarations_and_guidelines(w)
    await _requests_and_holds(w)
    await _activity(w)
    await _campaign(w)
    await w.session.flush()


async def _organisation(w: _World) -> None:
    """The forces, their units, people and objectives, a good while ago."""
    s, admin = w.session, w.caller("admin@registry")
    with w.days_ago(420):
        for body in (
            ForceCreate(code="staffs", name="Staffordshire Police"),
            ForceCreate(code="wmids", name="West Midlands Police", dormancy_days=60),
        ):
            w.forces[body.code] = await forces.create(s, admin, body)
        unit_rows: tuple[tuple[str, UnitKind, str, str | None], ...] = (
            ("Corporate Communications", "hq", "staffs", None),
            ("Stoke-on-Trent", "borough", "staffs", "Corporate Communications"),
            ("Hanley Neighbourhood Team", "neighbourhood_team", "staffs", "Stoke-on-Trent"),
            ("Dog Unit", "specialist", "staffs", None),
            ("Birmingham East", "borough", "wmids", None),
        )
        for name, kind, force, parent in unit_rows:
            unit, _ = await units.create(
                s, admin,
                UnitCreate(name=name, kind=kind, force=force,
                           parent_id=w.units[parent] if parent else None),
            )  # fmt: skip
            w.units[name] = unit.id
        for key, force, staff_id, name, subject, unit_name, title in (
            ("priya", "staffs", "SP1001", "Priya Shah", "comms.lead@staffs",
             "Corporate Communications", "Head of Communications"),
            ("tom", "staffs", "SP1002", "Tom Baker", "comms.deputy@staffs",
             "Corporate Communications", "Digital Officer"),
            ("jones", "staffs", "SP2001", "PC Sam Jones", "pc.jones@staffs",
             "Hanley Neighbourhood Team", "Police Constable"),
            ("khan", "staffs", "SP2002", "Sgt Aisha Khan", "sgt.khan@staffs", "Dog Unit",
             "Sergeant"),
            ("lee", "staffs", "SP2003", "PC Chris Lee", "pc.lee@staffs",
             "Hanley Neighbourhood Team", "Police Constable"),
            ("price", "staffs", "SP2004", "PC Dana Price", None, "Stoke-on-Trent",
             "Police Constable"),
            ("morgan", "staffs", "SP3001", "DS Alex Morgan", "psd.investigator@staffs", None,
             "Detective Sergeant"),
            ("evans", "wmids", "WM1001", "Jo Evans", "comms.lead@wmids", "Birmingham East",
             "Communications Manager"),
            ("patel", "wmids", "WM2001", "PC Ravi Patel", "pc.patel@wmids", "Birmingham East",
             "Police Constable"),
        ):  # fmt: skip
            w.people[key], _ = await people.create(
                s, admin,
                PersonCreate(
                    force=force, staff_id=staff_id, name=name, subject=subject,
                    email=f"{staff_id.lower()}@{force}.police.example", job_title=title,
                    unit_id=w.units[unit_name] if unit_name else None,
                ),
            )  # fmt: skip
        for force, code, title, active in (
            ("staffs", "ENGAGE", "Engage communities", True),
            ("staffs", "APPEALS", "Witness appeals", True),
            ("staffs", "RECRUIT", "Recruitment (closed)", False),
            ("wmids", "CONFIDENCE", "Public confidence", True),
        ):
            await objectives.create(
                s, admin, ObjectiveCreate(force=force, code=code, title=title, active=active)
            )


async def _registered_accounts(w: _World) -> None:
    """Accounts the comms teams registered, the national guidance, its sign-offs, editors."""
    s, admin, priya = w.session, w.caller("admin@registry"), w.caller("comms.lead@staffs")
    # Registered 385 days ago and never reviewed since: a year on, `review_overdue`.
    with w.days_ago(385):
        await w.account(
            priya, handle="StaffsRural", display_name="Rural Crime Team",
            classification="official", owner_id=w.people["tom"].id, objectives=["ENGAGE"],
        )  # fmt: skip
    with w.days_ago(300):
        w.policies["national"] = await guidelines.create(
            s, admin,
            GuidelineCreate(
                code="national-social-media", version=1,
                title="National social media guidance",
                document_url="https://intranet.example/guidance/social-media-v1.pdf",
                sha256=_sha("national v1"), effective_from=clock.now(), requires_resign=True,
            ),
        )  # fmt: skip
    # Its last post is 200 days old (see `_activity`): `dormant`.
    with w.days_ago(250):
        await w.account(
            priya, handle="HanleyCops", display_name="Hanley Neighbourhood Team",
            classification="official", owner_id=w.people["jones"].id,
            unit_id=w.units["Hanley Neighbourhood Team"], objectives=["ENGAGE"],
        )  # fmt: skip
    with w.days_ago(210):
        for handle, display, classification, owner, unit, objective_codes, link in (
            ("StaffsPolice", "Staffordshire Police", "corporate", "priya",
             "Corporate Communications", ["ENGAGE", "APPEALS"], None),
            ("StaffsPoliceFB", "Staffordshire Police", "corporate", "priya",
             "Corporate Communications", ["ENGAGE"], "https://www.facebook.com/staffspolice"),
            ("StaffsPolDogs", "Staffs Police Dogs", "official", "khan", "Dog Unit",
             ["ENGAGE"], None),
            ("StokeNorthCops", "Stoke North", "official", "tom", "Stoke-on-Trent",
             ["APPEALS"], None),
            ("StokeSouthCops", "Stoke South", "official", "tom", "Stoke-on-Trent",
             ["APPEALS"], None),
            # No objective: `no_strategy_link`.
            ("StaffsRoads", "Roads Policing", "official", "tom",
             "Corporate Communications", [], None),
            # Owned by a leaver (`_declarations_and_guidelines`): `orphaned`.
            ("StaffsCadets", "Cadets", "official", "price", None, ["ENGAGE"], None),
            # Khan never signs the force policy: `guidelines_outstanding`.
            ("StaffsHorses", "Mounted Section", "official", "khan", "Dog Unit", ["ENGAGE"],
             "https://www.instagram.com/staffshorses/"),
            ("StaffsCID", "CID appeals", "official", "khan", None, ["APPEALS"], None),
            ("StaffsEvents", "Events (closing)", "official", "tom", None, ["ENGAGE"], None),
            ("StaffsArchive", "Closed archive feed", "official", "tom", None, [], None),
        ):  # fmt: skip
            named = {"url": link} if link else {"handle": handle}
            await w.account(
                priya, key=handle, display_name=display, classification=classification,
                owner_id=w.people[owner].id, unit_id=w.units[unit] if unit else None,
                objectives=objective_codes, **named,
            )  # fmt: skip
        await w.account(
            priya, handle="StaffsOldNews", display_name="Old news feed", status="suspended",
            classification="official", owner_id=w.people["priya"].id, objectives=["ENGAGE"],
        )  # fmt: skip
        for handle, display, classification, owner in (
            ("WMPolice", "West Midlands Police", "corporate", "evans"),
            ("BrumEastCops", "Birmingham East", "official", "patel"),
        ):
            await w.account(
                w.caller("comms.lead@wmids"), handle=handle, display_name=display,
                classification=classification, owner_id=w.people[owner].id,
                unit_id=w.units["Birmingham East"], objectives=["CONFIDENCE"],
            )  # fmt: skip
    # Everyone but the leaver-to-be and PSD signs the national guidance (PSD never does:
    # their sign-offs stay outstanding); editors must have signed before they are added.
    with w.days_ago(200):
        for person in ("priya", "tom", "jones", "khan", "lee", "evans", "patel"):
            await guidelines.sign(s, w.signed_in(person), w.policies["national"].id)
    with w.days_ago(199):
        for handle, editor in (("StaffsPolice", "tom"), ("StaffsPolDogs", "lee")):
            await accounts.add_editor(s, priya, w.by_handle[handle].id, w.people[editor].id)


async def _declarations_and_guidelines(w: _World) -> None:
    """Unofficial accounts declared by the officers who run them; a force policy that
    needs signing again; a leaver."""
    s, priya = w.session, w.caller("comms.lead@staffs")
    with w.days_ago(150):
        await w.account(
            w.caller("pc.jones@staffs"), handle="PCSamJonesStoke", display_name="PC Sam Jones",
            classification="unofficial",
        )  # fmt: skip
        # Anonymous: its operator is named only to comms, PSD, admins and the operator.
        await w.account(
            w.signed_in("lee"), handle="ThinBlueBlogger", display_name="Thin Blue Blogger",
            classification="unofficial", is_anonymous=True,
        )  # fmt: skip
    # Approved: active and unofficial, so `unsanctioned`.
    with w.days_ago(149):
        for handle in ("PCSamJonesStoke", "ThinBlueBlogger"):
            request_id = await w.open_request_of(priya, w.by_handle[handle])
            await workflows.approve(s, priya, request_id, "Known to us; keep it tidy.")
    # Khan and Lee never get round to signing it.
    with w.days_ago(60):
        w.policies["force"] = await guidelines.create(
            s, priya,
            GuidelineCreate(
                code="staffs-digital", version=2,
                title="Staffordshire digital engagement policy",
                document_url="https://intranet.example/staffs/digital-v2.pdf",
                sha256=_sha("staffs v2"), effective_from=clock.now(), requires_resign=True,
            ),
        )  # fmt: skip
    with w.days_ago(40):
        await people.leave(s, priya, w.people["price"].id, LeaveBody(left_on=clock.today()))
    with w.days_ago(30):
        for person in ("priya", "tom", "jones"):
            await guidelines.sign(s, w.signed_in(person), w.policies["force"].id)


async def _requests_and_holds(w: _World) -> None:
    """Requests in every state, each decided by someone other than its requester, and a
    legal hold."""
    s = w.session
    priya, tom = w.caller("comms.lead@staffs"), w.caller("comms.deputy@staffs")
    jones = w.caller("pc.jones@staffs")
    # An old feed closed for good: asked for, approved, its checklist worked, completed.
    with w.days_ago(28):
        closing = await workflows.submit(
            s, tom,
            DecommissionRequestCreate(
                kind="decommission", account_id=w.by_handle["StaffsArchive"].id,
                reason="The archive feed is no longer used.",
                details=DecommissionDetails(reason_code="dormant"),
            ),
        )  # fmt: skip
    with w.days_ago(27):
        await workflows.approve(s, priya, closing.request.id, "Agreed.")
    with w.days_ago(25):
        for item in CHECKLISTS["decommission"]:
            if item.required(closing.request.details):
                await workflows.set_checklist_item(
                    s, priya, closing.request.id, item.name, ChecklistUpdate(done=True)
                )
        await workflows.complete(s, priya, closing.request.id, "Closed on X.")
    # A declaration refused.
    with w.days_ago(10):
        await w.account(
            jones, handle="NotReallyPolice", display_name="Rejected declaration",
            classification="unofficial",
        )  # fmt: skip
        request_id = await w.open_request_of(priya, w.by_handle["NotReallyPolice"])
    with w.days_ago(9):
        await workflows.reject(s, priya, request_id, "Not a police account; please close it.")
    # An events feed being closed down: approved, its checklist still to work.
    with w.days_ago(6):
        events = await workflows.submit(
            s, priya,
            DecommissionRequestCreate(
                kind="decommission", account_id=w.by_handle["StaffsEvents"].id,
                reason="Events now posted from the corporate account.",
                details=DecommissionDetails(reason_code="centralised"),
            ),
        )  # fmt: skip
        await workflows.approve(s, tom, events.request.id, "Yes, fold it into the main feed.")
    with w.days_ago(5):
        await holds.place(
            s, w.caller("psd.investigator@staffs"), w.by_handle["StaffsCID"].id,
            HoldCreate(case_reference="PSD/2026/0142",
                       reason="Preserve records for a misconduct investigation."),
        )  # fmt: skip
    # Found by the comms team and recorded: an account passing itself off as the force's
    # own (`imitates_official`: a zero for the o of "StaffsPolice").
    with w.days_ago(3):
        await w.account(
            priya, handle="StaffsP0lice", display_name="Staffordshire Police (impostor)",
            classification="unofficial",
        )  # fmt: skip
    # Waiting for a decision: a staff declaration (it opens a registration request).
    with w.days_ago(2):
        await w.account(
            jones, handle="HanleyBeat", display_name="Hanley Beat", classification="unofficial"
        )


async def _activity(w: _World) -> None:
    """Monthly figures up to last month and the latest post seen, as the collectors post
    them. HanleyCops last posted 200 days ago (`dormant`), StokeNorthCops never replies
    (`broadcast_only`), StokeSouthCops mostly reposts (`repost_heavy`); the rest post,
    repost and reply in a healthy mix."""
    collectors = {
        code: w.principal(f"collector@{code}", ["collector"], code, "Activity collector")
        for code in w.forces
    }
    force_codes = {f.id: code for code, f in w.forces.items()}
    special = {
        "StaffsPolice": (6, (60, 10, 40), 3),
        "StaffsPolDogs": (6, (20, 2, 8), 3),
        "StokeNorthCops": (3, (30, 5, 0), 3),
        "StokeSouthCops": (3, (2, 40, 3), 3),
        "WMPolice": (6, (90, 20, 60), 3),
        "HanleyCops": (1, (4, 0, 2), 200),
    }
    for key, account in w.by_handle.items():
        if account.status not in ("active", "suspended", "decommissioning"):
            continue
        months, (posts, reposts, replies), last_post_days = special.get(key, (1, (12, 2, 6), 3))
        last_post = w.now - timedelta(days=last_post_days)
        # The months end with last month, or with the month of the last post if earlier.
        end = min(w.now.date().replace(day=1), _next_month(last_post.date())) - timedelta(days=1)
        for _ in range(months):
            start = end.replace(day=1)
            await activity.record(
                w.session, collectors[force_codes[account.force_id]], account.id,
                ActivityIn(period_start=start, period_end=end, original_posts=posts,
                           reposts=reposts, replies=replies, followers=1200,
                           last_post_at=last_post),
            )  # fmt: skip
            end = start - timedelta(days=1)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


async def _campaign(w: _World) -> None:
    """A review campaign in progress: Staffordshire's accounts on X, started four days ago
    and due in ten; one owner has attested since, the rest are pending (orphaned accounts
    went straight to the comms team)."""
    with w.days_ago(4):
        campaign = await campaigns.create(
            w.session, w.caller("comms.lead@staffs"),
            CampaignCreate(
                name="Winter review of X accounts", filter=AccountFilter(platform="x"),
                due_on=w.now.date() + timedelta(days=10),
                message="Please confirm in the registry that each account you own is still "
                "needed and that its details are right.",
            ),
        )  # fmt: skip
    with w.days_ago(1):
        for key, person in w.people.items():
            owned = [
                a for a in w.by_handle.values()
                if a.owner_id == person.id and a.force_id == campaign.force_id
                and a.platform == "x" and a.status == "active"
            ]  # fmt: skip
            if owned and person.subject and person.status == "active":
                await compliance.attest(
                    w.session, w.signed_in(key), owned[0].id,
                    AttestIn(still_needed=True, note="Still our main channel."),
                )  # fmt: skip
                return
