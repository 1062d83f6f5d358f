"""Fictional demo data: forces, units, people, accounts in every state, guidelines, activity."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from app import clock
from app.audit import service as audit
from app.config import Settings
from app.db import Database
from app.models import (
    Account,
    AccountObjective,
    ActivityPeriod,
    Custodianship,
    Force,
    Guideline,
    LegalHold,
    Objective,
    Person,
    Request,
    Signoff,
    Unit,
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

LOADER = audit.Actor.system("demo-loader")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class _Loader:
    def __init__(self, session: Any, now: datetime) -> None:
        self.session = session
        self.now = now

    def add(self, obj: Any, entity_type: str, force_id: uuid.UUID | None) -> Any:
        if getattr(obj, "id", None) is None:
            obj.id = uuid.uuid4()
        self.session.add(obj)
        # No relationship() links the tables, so flush in dependency order by hand.
        self.session.flush()
        fields = {
            c.key: getattr(obj, c.key)
            for c in obj.__table__.columns
            if c.key not in ("id", "created_at", "updated_at", "version")
        }
        audit.record(
            self.session,
            LOADER,
            f"{entity_type}.created",
            entity_type,
            obj.id,
            fields,
            force_id=force_id,
        )
        return obj

    def account(
        self,
        force: Force,
        handle: str,
        *,
        platform: str = "x",
        classification: str = "official",
        status: str = "active",
        owner: Person | None = None,
        editors: tuple[Person, ...] = (),
        objectives: tuple[Objective, ...] = (),
        unit: Unit | None = None,
        age_days: int = 400,
        last_post_days: int | None = 3,
        review_in_days: int | None = 200,
        **extra: Any,
    ) -> Account:
        created = self.now - timedelta(days=age_days)
        account = self.add(
            Account(
                force_id=force.id,
                platform=platform,
                handle=handle.lower(),
                url=extra.pop("url", f"https://x.com/{handle}" if platform == "x" else ""),
                display_name=extra.pop("display_name", handle),
                classification=classification,
                status=status,
                unit_id=unit.id if unit else None,
                owner_id=owner.id if owner else None,
                review_due_on=(self.now + timedelta(days=review_in_days)).date()
                if review_in_days is not None
                else None,
                last_post_at=self.now - timedelta(days=last_post_days)
                if last_post_days is not None
                else None,
                created_at=created,
                updated_at=created,
                **extra,
            ),
            "account",
            force.id,
        )
        for person, role in [(owner, "owner")] + [(e, "editor") for e in editors]:
            if person is not None:
                self.session.add(
                    Custodianship(
                        force_id=force.id,
                        account_id=account.id,
                        person_id=person.id,
                        role=role,
                        valid_from=created,
                    )
                )
        for objective in objectives:
            self.session.add(AccountObjective(account_id=account.id, objective_id=objective.id))
        return account

    def activity(
        self, account: Account, months: int, posts: int, reposts: int, replies: int
    ) -> None:
        end = self.now.date().replace(day=1) - timedelta(days=1)
        for _ in range(months):
            start = end.replace(day=1)
            self.session.add(
                ActivityPeriod(
                    force_id=account.force_id,
                    account_id=account.id,
                    period_start=start,
                    period_end=end,
                    original_posts=posts,
                    reposts=reposts,
                    replies=replies,
                    followers=1200,
                    last_post_at=account.last_post_at,
                )
            )
            end = start - timedelta(days=1)


async def load_demo(settings: Settings) -> None:
    db = Database(settings)
    try:
        async with db.session() as session:
            now = clock.now()
            await session.run_sync(lambda sync: _build(_Loader(sync, now)))
            await session.commit()
    finally:
        await db.dispose()


def _build(ld: _Loader) -> None:
    now = ld.now
    staffs = ld.add(
        Force(id=uuid.uuid4(), code="staffs", name="Staffordshire Police"), "force", None
    )
    wmids = ld.add(
        Force(id=uuid.uuid4(), code="wmids", name="West Midlands Police", dormancy_days=60),
        "force",
        None,
    )
    ld.session.info["demo_forces"] = (staffs, wmids)

    hq = ld.add(
        Unit(force_id=staffs.id, name="Corporate Communications", kind="hq"), "unit", staffs.id
    )
    stoke = ld.add(
        Unit(force_id=staffs.id, name="Stoke-on-Trent", kind="borough", parent_id=hq.id),
        "unit",
        staffs.id,
    )
    hanley = ld.add(
        Unit(
            force_id=staffs.id,
            name="Hanley Neighbourhood Team",
            kind="neighbourhood_team",
            parent_id=stoke.id,
        ),
        "unit",
        staffs.id,
    )
    dogs = ld.add(Unit(force_id=staffs.id, name="Dog Unit", kind="specialist"), "unit", staffs.id)
    bham = ld.add(Unit(force_id=wmids.id, name="Birmingham East", kind="borough"), "unit", wmids.id)

    def person(
        force: Force,
        staff_id: str,
        name: str,
        subject: str | None = None,
        unit: Unit | None = None,
        title: str = "Police Constable",
        **kw: Any,
    ) -> Person:
        return ld.add(
            Person(
                force_id=force.id,
                staff_id=staff_id,
                name=name,
                subject=subject,
                email=f"{staff_id.lower()}@{force.code}.police.example",
                job_title=title,
                unit_id=unit.id if unit else None,
                **kw,
            ),
            "person",
            force.id,
        )

    priya = person(
        staffs, "SP1001", "Priya Shah", "comms.lead@staffs", hq, "Head of Communications"
    )
    tom = person(staffs, "SP1002", "Tom Baker", "comms.deputy@staffs", hq, "Digital Officer")
    jones = person(staffs, "SP2001", "PC Sam Jones", "pc.jones@staffs", hanley)
    khan = person(staffs, "SP2002", "Sgt Aisha Khan", None, dogs, "Sergeant")
    lee = person(staffs, "SP2003", "PC Chris Lee", None, hanley)
    gone = person(
        staffs,
        "SP2004",
        "PC Dana Price",
        None,
        stoke,
        status="left",
        left_on=(now - timedelta(days=40)).date(),
    )
    person(
        staffs, "SP3001", "DS Alex Morgan", "psd.investigator@staffs", None, "Detective Sergeant"
    )
    evans = person(wmids, "WM1001", "Jo Evans", "comms.lead@wmids", bham, "Communications Manager")
    wm_pc = person(wmids, "WM2001", "PC Ravi Patel", None, bham)

    engage = ld.add(
        Objective(force_id=staffs.id, code="ENGAGE", title="Engage communities"),
        "objective",
        staffs.id,
    )
    appeals = ld.add(
        Objective(force_id=staffs.id, code="APPEALS", title="Witness appeals"),
        "objective",
        staffs.id,
    )
    ld.add(
        Objective(force_id=staffs.id, code="RECRUIT", title="Recruitment (closed)", active=False),
        "objective",
        staffs.id,
    )
    wm_obj = ld.add(
        Objective(force_id=wmids.id, code="CONFIDENCE", title="Public confidence"),
        "objective",
        wmids.id,
    )

    national = ld.add(
        Guideline(
            force_id=None,
            code="national-social-media",
            version=1,
            title="National social media guidance",
            document_url="https://intranet.example/guidance/social-media-v1.pdf",
            sha256=_sha("national v1"),
            effective_from=now - timedelta(days=300),
            requires_resign=True,
        ),
        "guideline",
        None,
    )
    v2 = ld.add(
        Guideline(
            force_id=staffs.id,
            code="staffs-digital",
            version=2,
            title="Staffordshire digital engagement policy",
            document_url="https://intranet.example/staffs/digital-v2.pdf",
            sha256=_sha("staffs v2"),
            effective_from=now - timedelta(days=60),
            requires_resign=True,
        ),
        "guideline",
        staffs.id,
    )
    for signer in (priya, tom, jones, khan, evans, wm_pc):
        ld.session.add(
            Signoff(
                force_id=signer.force_id,
                guideline_id=national.id,
                person_id=signer.id,
                version=1,
                sha256=national.sha256,
                signed_at=now - timedelta(days=200),
            )
        )
    for signer in (priya, tom, jones):
        ld.session.add(
            Signoff(
                force_id=staffs.id,
                guideline_id=v2.id,
                person_id=signer.id,
                version=2,
                sha256=v2.sha256,
                signed_at=now - timedelta(days=30),
            )
        )

    # Healthy corporate and official accounts.
    corp = ld.account(
        staffs,
        "StaffsPolice",
        classification="corporate",
        owner=priya,
        editors=(tom,),
        objectives=(engage, appeals),
        unit=hq,
        display_name="Staffordshire Police",
    )
    ld.activity(corp, 6, posts=60, reposts=10, replies=40)
    ld.account(
        staffs,
        "staffspolice",
        platform="facebook",
        classification="corporate",
        owner=priya,
        objectives=(engage,),
        unit=hq,
        display_name="Staffordshire Police",
        url="https://www.facebook.com/staffspolice",
    )
    dogs_acct = ld.account(
        staffs,
        "StaffsPolDogs",
        owner=khan,
        editors=(lee,),
        objectives=(engage,),
        unit=dogs,
        display_name="Staffs Police Dogs",
    )
    ld.activity(dogs_acct, 6, posts=20, reposts=2, replies=8)
    # Flags: dormant; broadcast only; repost heavy; no strategy link; review overdue.
    ld.account(
        staffs,
        "HanleyCops",
        owner=jones,
        objectives=(engage,),
        unit=hanley,
        last_post_days=200,
        display_name="Hanley Neighbourhood Team",
    )
    broadcast = ld.account(
        staffs,
        "StokeNorthPolice",
        owner=tom,
        objectives=(appeals,),
        unit=stoke,
        display_name="Stoke North",
    )
    ld.activity(broadcast, 3, posts=30, reposts=5, replies=0)
    reposter = ld.account(
        staffs,
        "StokeSouthPolice",
        owner=tom,
        objectives=(appeals,),
        unit=stoke,
        display_name="Stoke South",
    )
    ld.activity(reposter, 3, posts=2, reposts=40, replies=3)
    ld.account(staffs, "StaffsRoadsPolicing", owner=tom, unit=hq, display_name="Roads Policing")
    ld.account(
        staffs,
        "StaffsRural",
        owner=tom,
        objectives=(engage,),
        review_in_days=-20,
        display_name="Rural Crime Team",
    )
    # Orphaned (owner left) and guidelines outstanding (owner never signed the force policy).
    ld.account(staffs, "StaffsCadets", owner=gone, objectives=(engage,), display_name="Cadets")
    ld.account(
        staffs,
        "StaffsHorses",
        platform="instagram",
        owner=khan,
        objectives=(engage,),
        unit=dogs,
        url="https://www.instagram.com/staffshorses/",
        display_name="Mounted Section",
    )
    # Unofficial accounts: one run by the demo staff member, one anonymous.
    ld.account(
        staffs,
        "PCSamJonesStoke",
        classification="unofficial",
        owner=jones,
        display_name="PC Sam Jones",
    )
    ld.account(
        staffs,
        "ThinBlueBlogger",
        classification="unofficial",
        owner=lee,
        is_anonymous=True,
        display_name="Thin Blue Blogger",
    )
    # Every other status.
    pending = ld.account(
        staffs,
        "HanleyBeat",
        classification="unofficial",
        status="pending_approval",
        owner=jones,
        last_post_days=None,
        age_days=2,
        display_name="Hanley Beat",
    )
    ld.account(
        staffs,
        "StaffsOldNews",
        status="suspended",
        owner=priya,
        objectives=(engage,),
        display_name="Old news feed",
    )
    closing = ld.account(
        staffs,
        "StaffsEvents",
        status="decommissioning",
        owner=tom,
        objectives=(engage,),
        display_name="Events (closing)",
    )
    ld.account(
        staffs,
        "StaffsArchive",
        status="decommissioned",
        owner=None,
        display_name="Closed archive feed",
    )
    ld.account(
        staffs,
        "NotReallyPolice",
        classification="unofficial",
        status="rejected",
        owner=None,
        display_name="Rejected declaration",
    )
    held = ld.account(
        staffs,
        "StaffsCID",
        owner=khan,
        objectives=(appeals,),
        legal_hold=True,
        display_name="CID appeals",
    )
    ld.add(
        LegalHold(
            force_id=staffs.id,
            account_id=held.id,
            case_reference="PSD/2026/0142",
            reason="Preserve records for a misconduct investigation.",
            placed_by="psd.investigator@staffs",
            placed_at=now - timedelta(days=5),
        ),
        "legal_hold",
        staffs.id,
    )
    ld.add(
        Request(
            force_id=staffs.id,
            kind="registration",
            account_id=pending.id,
            reason="I run this for my beat; declaring it.",
            details={},
            status="submitted",
            requested_by="pc.jones@staffs",
            requested_by_name="PC Sam Jones",
            requested_by_person_id=jones.id,
        ),
        "request",
        staffs.id,
    )
    ld.add(
        Request(
            force_id=staffs.id,
            kind="decommission",
            account_id=closing.id,
            reason="Events now posted from the corporate account.",
            details={"reason_code": "centralised"},
            status="approved",
            requested_by="comms.lead@staffs",
            requested_by_name="Priya Shah",
        ),
        "request",
        staffs.id,
    )

    wm = ld.account(
        wmids,
        "WMPolice",
        classification="corporate",
        owner=evans,
        objectives=(wm_obj,),
        unit=bham,
        display_name="West Midlands Police",
    )
    ld.activity(wm, 6, posts=90, reposts=20, replies=60)
    ld.account(
        wmids,
        "BrumEastCops",
        owner=wm_pc,
        objectives=(wm_obj,),
        unit=bham,
        display_name="Birmingham East",
    )
    _ = date  # dates come from `now`
