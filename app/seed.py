"""Synthetic registry data at scale, for benchmarks: `registry seed --forces N --accounts N`.

Realistic shapes (real force names, units, staff with ids, accounts on every platform in
every state, owners and editors over time, objectives, guidelines and sign-offs, monthly
activity, legal holds, registration requests) from a seeded random generator, so a run is
repeatable for a given day. Rows are written in bulk in chunked transactions (COPY on
PostgreSQL). Entities are generated in time order, so the audit events (one per change)
are chronological; each chunk's events are linked onto the chain's current head under the
chain lock, so `verify_chain` holds. Seed into a registry that has none of these forces.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import heapq
import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock
from app.accounts.handles import canonical_url
from app.audit.chain import GENESIS, EventContent, link
from app.audit.service import CHAIN_LOCK_KEY
from app.db import Database
from app.models import AuditEvent, Base, Force

_FORCES = (
    "avon-somerset:Avon and Somerset Constabulary:3|bedfordshire:Bedfordshire Police:1|"
    "cambs:Cambridgeshire Constabulary:1|cheshire:Cheshire Constabulary:2|"
    "city-of-london:City of London Police:1|cleveland:Cleveland Police:1|"
    "cumbria:Cumbria Constabulary:1|derbyshire:Derbyshire Constabulary:2|"
    "devon-cornwall:Devon and Cornwall Police:3|dorset:Dorset Police:1|"
    "durham:Durham Constabulary:1|dyfed-powys:Dyfed-Powys Police:1|essex:Essex Police:3|"
    "gloucestershire:Gloucestershire Constabulary:1|gmp:Greater Manchester Police:6|"
    "gwent:Gwent Police:1|hampshire:Hampshire and Isle of Wight Constabulary:3|"
    "herts:Hertfordshire Constabulary:2|humberside:Humberside Police:2|kent:Kent Police:3|"
    "lancashire:Lancashire Constabulary:3|leics:Leicestershire Police:2|"
    "lincs:Lincolnshire Police:1|merseyside:Merseyside Police:3|"
    "met:Metropolitan Police Service:12|norfolk:Norfolk Constabulary:1|"
    "north-wales:North Wales Police:1|north-yorks:North Yorkshire Police:1|"
    "northants:Northamptonshire Police:1|northumbria:Northumbria Police:3|"
    "notts:Nottinghamshire Police:2|south-wales:South Wales Police:2|"
    "south-yorks:South Yorkshire Police:2|staffs:Staffordshire Police:2|"
    "suffolk:Suffolk Constabulary:1|surrey:Surrey Police:2|sussex:Sussex Police:2|"
    "thames-valley:Thames Valley Police:3|warwickshire:Warwickshire Police:1|"
    "west-mercia:West Mercia Police:2|wmids:West Midlands Police:5|"
    "west-yorks:West Yorkshire Police:4|wiltshire:Wiltshire Police:1|scotland:Police Scotland:6|"
    "psni:Police Service of Northern Ireland:3|btp:British Transport Police:2|"
    "cnc:Civil Nuclear Constabulary:1|mod:Ministry of Defence Police:1"
)


def _words(text: str) -> list[str]:
    return text.split()


FORCES = [(c, n, int(w)) for c, n, w in (e.split(":") for e in _FORCES.split("|"))]
TOWNS = _words(
    "Abbey Ashford Barton Beacon Bridgeford Brook Castle Chapel Church Cliff Cross Dale "
    "Eastgate Fairfield Forest Gate Green Harbour Heath Highfield Hill Kings Lake Lea Manor "
    "Marsh Meadow Mill Moor Newtown Northgate Oak Park Priory Queens Riverside Southgate "
    "Stone Vale Westgate Wood"
)
SPECIALISTS = (
    "Dog Unit", "Roads Policing Unit", "Firearms", "Marine Unit", "Mounted Branch",
    "Rural Crime Team", "Cyber Crime Unit", "Wildlife Crime", "Drone Unit", "Special Constabulary",
)  # fmt: skip
FIRST = _words(
    "Aisha Alex Amir Ben Chloe Chris Dan Deepa Ella Emma Faisal Grace Hannah Harry Imran Jack "
    "James Jo Kate Leah Liam Lucy Mark Mo Nadia Olivia Owen Priya Rachel Ryan Sam Sarah Sophie "
    "Tom Una Vic Will Yusuf Zara"
)
LAST = _words(
    "Ahmed Baker Brown Clarke Davies Evans Green Hall Harris Hughes Jackson Jones Khan Lewis "
    "Martin Morgan Patel Roberts Robinson Shah Smith Taylor Thomas Thompson Turner Walker White "
    "Williams Wilson Wood Wright Young"
)
TITLES = (
    "Police Constable", "Sergeant", "Inspector", "PCSO", "Communications Officer",
    "Digital Media Officer", "Chief Inspector", "Detective Constable", "Special Constable",
)  # fmt: skip
OBJECTIVES = (
    ("ENGAGE", "Engage with communities"), ("APPEAL", "Appeals for information"),
    ("PREVENT", "Crime prevention advice"), ("RECRUIT", "Recruitment"),
    ("ROADS", "Road safety"), ("REASSURE", "Public reassurance"),
)  # fmt: skip
PLATFORM_WEIGHTS = {
    "x": 34, "facebook": 30, "instagram": 12, "youtube": 3, "tiktok": 4, "threads": 3,
    "linkedin": 3, "nextdoor": 5, "bluesky": 2, "mastodon": 1, "snapchat": 1, "flickr": 1,
    "other": 1,
}  # fmt: skip
SEED_ACTOR = ("seed", ["admin"], None)
COLLECTOR = ("collector@registry", ["collector"], None)
MAX_FORCES, MAX_ACCOUNTS = 100, 1_000_000
CHUNK_ROWS = 50_000
COLUMNS: dict[str, tuple[str, ...]] = {
    "forces": ("id", "code", "name", "version", "created_at", "updated_at"),
    "units": ("id", "force_id", "name", "kind", "parent_id", "version", "created_at", "updated_at"),
    "objectives": ("id", "force_id", "code", "title", "active", "version", "created_at",
                   "updated_at"),
    "guidelines": ("id", "force_id", "code", "version", "title", "document_url", "sha256",
                   "effective_from", "requires_resign", "created_at"),
    "people": ("id", "force_id", "staff_id", "name", "email", "subject", "job_title", "unit_id",
               "status", "left_on", "version", "created_at", "updated_at"),
    "accounts": ("id", "force_id", "platform", "handle", "url", "platform_account_id",
                 "display_name", "classification", "status", "is_anonymous", "unit_id",
                 "owner_id", "review_due_on", "last_post_at", "legal_hold", "version",
                 "created_at", "updated_at"),
    "requests": ("id", "force_id", "kind", "account_id", "reason", "details", "status",
                 "requested_by", "requested_by_name", "requested_by_person_id", "version",
                 "created_at", "updated_at"),
    "custodianships": ("id", "force_id", "account_id", "person_id", "role", "valid_from",
                       "valid_to"),
    "account_objectives": ("account_id", "objective_id"),
    "signoffs": ("id", "force_id", "guideline_id", "person_id", "version", "sha256", "signed_at"),
    "legal_holds": ("id", "force_id", "account_id", "case_reference", "reason", "placed_by",
                    "placed_at"),
    "activity": ("id", "force_id", "account_id", "period_start", "period_end", "original_posts",
                 "reposts", "replies", "followers", "last_post_at", "created_at", "updated_at"),
}  # fmt: skip
AUDIT_COLUMNS = (
    "at", "actor_sub", "actor_roles", "actor_force", "force_id", "action", "entity_type",
    "entity_id", "changes", "request_id", "prev_hash", "hash",
)  # fmt: skip
JSON_COLUMNS = {("requests", "details")}
# Activity profiles of an account.
HEALTHY, BROADCAST, REPOSTER, DORMANT, SILENT = range(5)


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def _by_account(row: tuple[Any, ...]) -> int:
    return int(row[2].int)


_UNKNOWN = uuid.SafeUUID.unknown


def _uuid(value: int) -> uuid.UUID:
    # UUID(int=...) validates and costs ~5 us; millions of ids need the direct route.
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", _UNKNOWN)
    return made


class SeedError(ValueError):
    pass


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def handle_for(platform: str, code: str, n: int) -> str:
    """A valid, registry-unique handle for account number n of a force."""
    c, b = code.replace("-", ""), _b36(n)
    return {
        "x": f"{c[:5]}_{b}", "facebook": f"{c}.police.{b}", "instagram": f"{c}_{b}",
        "youtube": f"{c}-{b}", "tiktok": f"{c[:12]}.{b}", "threads": f"{c}.{b}",
        "linkedin": f"company/{code}-{b}", "nextdoor": f"agency-detail/{code}/{b}",
        "bluesky": f"{c}{b}.bsky.social", "mastodon": f"{c}{b}@police.social",
        "snapchat": f"{c[:5]}.{b}", "flickr": f"{c}-{b}", "other": f"{code}-police.example/{b}",
    }[platform]  # fmt: skip


def _month_starts(end: datetime, months: int) -> list[datetime]:
    year, month = end.year, end.month
    starts = []
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


class _Seeder:
    def __init__(self, db: Database, rng: random.Random, now: datetime, audit_cap: int | None):
        self.db, self.rng, self.now = db, rng, now
        self.pg = not db.is_sqlite
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
        self.events: list[EventContent] = []
        self.later: list[tuple[datetime, int, EventContent]] = []
        self.seq = 0
        self.counts: dict[str, int] = dict.fromkeys([*COLUMNS, "audit_events"], 0)
        self.audit_cap = audit_cap
        self.writing: asyncio.Task[None] | None = None
        self.seq_ids = 0
        self.v7_prefix = (int(now.timestamp() * 1000) << 80) | (0x7000 << 64) | (0x8000 << 48)
        self.superuser = False

    def uid(self) -> uuid.UUID:
        """A version 4 UUID from the seeded generator."""
        return _uuid((self.rng.getrandbits(128) & _V4_CLEAR) | _V4_SET)

    def seq_uid(self) -> uuid.UUID:
        """A time-ordered (version 7 layout) UUID: appends to the primary key's right edge,
        which keeps millions of activity rows cheap to index."""
        self.seq_ids += 1
        return _uuid(self.v7_prefix | self.seq_ids)

    def add(self, table: str, *values: Any) -> None:
        self.rows[table].append(values)

    def event(
        self, at: datetime, actor: tuple[str, list[str], str | None], action: str,
        entity: str, entity_id: Any, changes: dict[str, Any], force_id: Any = None,
    ) -> None:  # fmt: skip
        if at > self.now:
            return
        content = EventContent(
            at=at, actor_sub=actor[0], actor_roles=actor[1], actor_force=actor[2],
            force_id=str(force_id) if force_id else None, action=action, entity_type=entity,
            entity_id=str(entity_id), changes=changes, request_id=None,
        )  # fmt: skip
        self.seq += 1
        heapq.heappush(self.later, (at, self.seq, content))

    def release(self, until: datetime) -> None:
        """Move events dated up to `until` into the chronological buffer."""
        while self.later and self.later[0][0] <= until:
            self.events.append(heapq.heappop(self.later)[2])

    def full(self) -> bool:
        return any(len(r) >= CHUNK_ROWS for r in self.rows.values()) or len(self.events) >= (
            CHUNK_ROWS
        )

    async def flush(self) -> None:
        """Hand the buffered rows to a writer task; generation goes on while it writes.

        Chunks are written one after another, each in its own transaction, so each links
        its events onto the chain head the previous one left.
        """
        rows = {t: r for t, r in self.rows.items() if r}
        self.rows = {t: [] for t in COLUMNS}
        events, self.events = self.events, []
        await self.drain()
        self.writing = asyncio.create_task(self._write(rows, events))

    async def drain(self) -> None:
        if self.writing is not None:
            task, self.writing = self.writing, None
            await task

    async def _write(self, rows: dict[str, list[Any]], events: list[EventContent]) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(sa.text("SELECT 1"))  # open the transaction COPY runs in
            if self.pg:
                await conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
                if self.superuser:
                    # The generated rows are consistent by construction: skip the
                    # row-by-row foreign-key triggers (half the load time).
                    await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table, batch in rows.items():
                if table == "activity":
                    batch.sort(key=_by_account)  # one sweep through its account indexes
                await self._copy(conn, table, COLUMNS[table], batch)
                self.counts[table] += len(batch)
            await self._chain(conn, events)

    async def _copy(
        self, conn: AsyncConnection, table: str, columns: tuple[str, ...], rows: list[Any]
    ) -> None:
        json_at = [i for i, c in enumerate(columns) if (table, c) in JSON_COLUMNS]
        if self.pg:
            if json_at:
                rows = [
                    tuple(json.dumps(v) if i in json_at else v for i, v in enumerate(r))
                    for r in rows
                ]
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                table, records=rows, columns=list(columns)
            )
            return
        target = Base.metadata.tables[table]
        for start in range(0, len(rows), 5000):
            batch = [dict(zip(columns, r, strict=True)) for r in rows[start : start + 5000]]
            await conn.execute(sa.insert(target), batch)

    async def _chain(self, conn: AsyncConnection, events: list[EventContent]) -> None:
        if self.audit_cap is not None:
            events = events[: max(0, self.audit_cap - self.counts["audit_events"])]
        if not events:
            return
        if self.pg:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
        prev = (
            await conn.execute(sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
        ).scalar_one_or_none() or GENESIS
        rows = []
        role_json: dict[tuple[str, ...], str] = {}
        for e in events:
            digest = link(prev, e)
            force = uuid.UUID(e.force_id) if e.force_id else None
            roles: Any = e.actor_roles
            if self.pg:
                key = tuple(roles)
                roles = role_json.get(key) or role_json.setdefault(key, json.dumps(roles))
            changes: Any = json.dumps(e.changes) if self.pg else e.changes
            rows.append((e.at, e.actor_sub, roles, e.actor_force, force, e.action,
                         e.entity_type, e.entity_id, changes, None, prev, digest))  # fmt: skip
            prev = digest
        columns = AUDIT_COLUMNS
        if self.pg:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "audit_events", records=rows, columns=list(columns)
            )
        else:
            await self._copy(conn, "audit_events", columns, rows)
        self.counts["audit_events"] += len(rows)


class _Guideline:
    def __init__(self, s: _Seeder, force_id: Any, code: str, version: int, eff: datetime, bit: int):
        self.id, self.version, self.effective, self.bit = s.uid(), version, eff, bit
        self.sha = hashlib.sha256(f"{code} v{version} {force_id}".encode()).hexdigest()
        title = "Social media guidelines" if force_id is None else "Local social media code"
        s.add("guidelines", self.id, force_id, code, version, f"{title} v{version}",
              f"https://intranet.example/guidelines/{code}-v{version}.pdf", self.sha, eff,
              True, eff)  # fmt: skip
        s.event(eff - timedelta(days=14), SEED_ACTOR, "guideline.created", "guideline",
                self.id, {"code": [None, code], "version": [None, version]}, force_id)  # fmt: skip


class _Force:
    def __init__(self, code: str, name: str, weight: int, force_id: uuid.UUID) -> None:
        self.code, self.name, self.weight, self.id = code, name, weight, force_id
        self.actor = (f"comms.lead@{code}", ["comms_admin"], code)
        self.units: list[tuple[uuid.UUID, str]] = []
        self.objectives: list[uuid.UUID] = []
        self.legacy_objective: uuid.UUID | None = None
        self.people: list[int] = []
        self.local: _Guideline | None = None
        self.staff_seq = 0


class _World:
    def __init__(
        self, s: _Seeder, forces: int, accounts: int, people: int, months: int, audit_events: int
    ) -> None:
        self.s, self.rng, self.now = s, s.rng, s.now
        self.n_accounts, self.n_people, self.months = accounts, people, months
        self.starts = _month_starts(self.now, months)
        self.start = self.starts[0]
        picked = sorted(FORCES, key=lambda f: (-f[2], f[0]))[:forces]
        picked += [
            (f"force-{i}", f"Force {i} Police", 1) for i in range(len(picked) + 1, forces + 1)
        ]
        self.forces = [_Force(c, n, w, s.uid()) for c, n, w in picked]
        self.cum_weights = list(_cumulative(f.weight for f in self.forces))
        self.platforms = list(PLATFORM_WEIGHTS)
        self.platform_cum = list(_cumulative(PLATFORM_WEIGHTS.values()))
        # People, as parallel lists (indexes are person numbers).
        self.p_id: list[uuid.UUID] = []
        self.p_force: list[_Force] = []
        self.p_left: list[datetime | None] = []
        self.p_sub: list[str] = []
        self.p_name: list[str] = []
        self.signed = bytearray()
        self.active: list[tuple[Any, ...]] = []  # accounts with activity, in creation order
        self.account_seq = 0
        natural = people * 1.1 + accounts * 2.5
        rows = accounts * 0.8 * months / 2 or 1
        self.p_activity_event = max(0.0, audit_events - natural) / rows if audit_events else 0.0

    # --- setup: forces, units, objectives, guidelines -------------------------------------

    def setup(self) -> None:
        s, rng, at = self.s, self.rng, self.start - timedelta(days=400)
        g2_at = self.start + (self.now - self.start) * 0.6
        self.g1 = _Guideline(s, None, "social-media", 1, at, 1)
        self.g2 = _Guideline(s, None, "social-media", 2, g2_at, 2)
        for i, f in enumerate(self.forces):
            s.add("forces", f.id, f.code, f.name, 1, at, at)
            s.event(at, SEED_ACTOR, "force.created", "force", f.id, {"code": [None, f.code]}, f.id)
            share = self.n_accounts * f.weight / self.cum_weights[-1]
            self._units(f, max(6, min(2000, int(share // 6))), at)
            for code, title in OBJECTIVES:
                f.objectives.append(self._objective(f, code, title, True, at))
            f.legacy_objective = self._objective(f, "LEGACY", "Legacy campaign", False, at)
            if i % 3 == 0:
                f.local = _Guideline(
                    s, f.id, "local-code", 1, at + timedelta(days=rng.randint(0, 30)), 4
                )

    def _units(self, f: _Force, n: int, at: datetime) -> None:
        def unit(name: str, kind: str, parent: uuid.UUID | None) -> uuid.UUID:
            uid = self.s.uid()
            self.s.add("units", uid, f.id, name, kind, parent, 1, at, at)
            self.s.event(at, f.actor, "unit.created", "unit", uid, {"name": [None, name]}, f.id)
            f.units.append((uid, name))
            return uid

        hq = unit("Headquarters", "hq", None)
        unit("Corporate Communications", "department", hq)
        boroughs = [unit(f"{_town(i)} District", "borough", hq) for i in range(max(1, n // 12))]
        for name in SPECIALISTS[: max(2, min(len(SPECIALISTS), n // 20))]:
            unit(name, "specialist", hq)
        for i in range(max(0, n - len(f.units))):
            unit(f"{_town(i)} Neighbourhood Team", "neighbourhood_team", self.rng.choice(boroughs))

    def _objective(self, f: _Force, code: str, title: str, active: bool, at: datetime) -> uuid.UUID:
        oid = self.s.uid()
        self.s.add("objectives", oid, f.id, code, title, active, 1, at, at)
        self.s.event(
            at, f.actor, "objective.created", "objective", oid, {"code": [None, code]}, f.id
        )
        return oid

    # --- people ------------------------------------------------------------------------------

    def person(self, at: datetime) -> None:
        s, rng = self.s, self.rng
        f = self._force()
        f.staff_seq += 1
        staff_id = f"{f.code[:3].upper()}{f.staff_seq:06d}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        sub = f"{staff_id.lower()}@{f.code}"
        left_at = None
        if rng.random() < 0.06 and (self.now - at).days > 45:
            left_at = at + (self.now - at) * rng.uniform(0.1, 1.0)
        pid = s.uid()
        s.add("people", pid, f.id, staff_id, f"{first} {last}",
              f"{first}.{last}.{f.staff_seq}@{f.code}.police.uk".lower(),
              sub if rng.random() < 0.7 else None, rng.choice(TITLES), rng.choice(f.units)[0],
              "left" if left_at else "active", left_at.date() if left_at else None, 1, at,
              left_at or at)  # fmt: skip
        s.event(at, f.actor, "person.created", "person", pid, {"staff_id": [None, staff_id]}, f.id)
        if left_at:
            s.event(left_at, f.actor, "person.left", "person", pid,
                    {"status": ["active", "left"]}, f.id)  # fmt: skip
        f.people.append(len(self.p_id))
        self.p_id.append(pid)
        self.p_force.append(f)
        self.p_left.append(left_at)
        self.p_sub.append(sub)
        self.p_name.append(f"{first} {last}")
        self.signed.append(0)

    def _force(self) -> _Force:
        return self.rng.choices(self.forces, cum_weights=self.cum_weights)[0]

    def _pick(self, f: _Force, at: datetime, other_than: int = -1) -> int | None:
        """A person of the force who works there at `at` (a few tries, then nobody)."""
        for _ in range(6):
            if not f.people:
                return None
            p = self.rng.choice(f.people)
            left = self.p_left[p]
            if p != other_than and (left is None or left > at):
                return p
        return None

    def _sign(self, p: int, g: _Guideline, at: datetime) -> None:
        if self.signed[p] & g.bit or at > self.now:
            return
        self.signed[p] |= g.bit
        f = self.p_force[p]
        sid = self.s.uid()
        self.s.add("signoffs", sid, f.id, g.id, self.p_id[p], g.version, g.sha, at)
        actor = (self.p_sub[p], ["staff"], f.code)
        changes = {"guideline_id": [None, str(g.id)], "version": [None, g.version]}
        self.s.event(at, actor, "signoff.created", "signoff", sid, changes, f.id)

    def custodian(self, p: int, account_id: uuid.UUID, role: str, start: datetime,
                  end: datetime | None) -> None:  # fmt: skip
        f = self.p_force[p]
        self.s.add("custodianships", self.s.uid(), f.id, account_id, self.p_id[p], role, start, end)
        self._sign(p, self.g2 if start >= self.g2.effective else self.g1, start)
        if f.local is not None:
            self._sign(p, f.local, max(start, f.local.effective))
        if start < self.g2.effective and not self.signed[p] & 8:
            self.signed[p] |= 8
            when = self.g2.effective + timedelta(days=self.rng.uniform(0, 60))
            left = self.p_left[p]
            if self.rng.random() < 0.88 and (left is None or when < left):
                self._sign(p, self.g2, when)

    # --- accounts ----------------------------------------------------------------------------

    def _status(self, at: datetime) -> tuple[str, datetime | None]:
        """Final status and when the account left `active` (None: it never did)."""
        rng, age = self.rng, (self.now - at).days
        r = rng.random()
        if age < 60 and r < 0.35:
            return "pending_approval", None
        if r < 0.03:
            return "rejected", at + timedelta(days=rng.uniform(1, 20))
        if r < 0.13 and age > 120:
            return "decommissioned", at + timedelta(days=rng.uniform(90, age))
        if r < 0.15:
            return "decommissioning", self.now - timedelta(days=rng.uniform(0, min(40, age)))
        if r < 0.17:
            return "suspended", self.now - timedelta(days=rng.uniform(0, min(200, age)))
        return "active", None

    def account(self, at: datetime, month: int) -> None:
        s, rng = self.s, self.rng
        f = self._force()
        self.account_seq += 1
        platform = rng.choices(self.platforms, cum_weights=self.platform_cum)[0]
        handle = handle_for(platform, f.code, self.account_seq)
        r = rng.random()
        classification = "corporate" if r < 0.08 else "official" if r < 0.8 else "unofficial"
        status, changed = self._status(at)
        closed = changed if status in ("decommissioned", "rejected") else None
        owner = self._pick(f, at) if rng.random() < 0.93 else None
        anonymous = classification == "unofficial" and rng.random() < 0.3
        unit_id, unit_name = f.units[0] if classification == "corporate" else rng.choice(f.units)
        if classification == "corporate":
            display = f.name
        elif classification == "official":
            display = f"{f.name} {unit_name}"
        elif anonymous:
            display = f"{rng.choice(TOWNS)} Beat Bobby"
        else:
            display = f"PC {self.p_name[owner]}" if owner is not None else "Community Officer"
        account_id = s.uid()
        last_post = self._activity_plan(account_id, f, at, month, status, closed)
        review = None
        if status != "pending_approval":
            review = at.date() + timedelta(days=365)
            while review <= self.now.date() and rng.random() < 0.9:
                review += timedelta(days=365)
        hold = status not in ("decommissioned", "rejected") and rng.random() < 0.003
        s.add("accounts", account_id, f.id, platform, handle, canonical_url(platform, handle),
              str(rng.getrandbits(50)) if rng.random() < 0.5 else None, display, classification,
              status, anonymous, unit_id, self.p_id[owner] if owner is not None else None,
              review, last_post, hold, 1, at, changed or at)  # fmt: skip
        initial = "pending_approval" if status in ("pending_approval", "rejected") else "active"
        created = {"platform": platform, "handle": handle, "classification": classification,
                   "status": initial}  # fmt: skip
        changes = {k: [None, v] for k, v in created.items()}
        s.event(at, f.actor, "account.created", "account", account_id, changes, f.id)
        if changed is not None:
            s.event(changed, f.actor, "account.status_changed", "account", account_id,
                    {"status": [initial, status]}, f.id)  # fmt: skip
        if owner is not None:
            self._owners(f, account_id, owner, at, closed)
        if status not in ("pending_approval", "rejected"):
            editors: set[int] = set()
            for _ in range(rng.choices((0, 1, 2), (6, 3, 1))[0]):
                editor = self._pick(f, at, other_than=owner if owner is not None else -1)
                if editor is not None and editor not in editors:
                    editors.add(editor)
                    ends = [t for t in (self.p_left[editor], closed) if t is not None]
                    self.custodian(editor, account_id, "editor", at, min(ends) if ends else None)
        if classification != "unofficial":
            r = rng.random()
            chosen = rng.sample(f.objectives, rng.randint(1, 2)) if r < 0.85 else []
            if 0.85 <= r < 0.9 and f.legacy_objective is not None:
                chosen = [f.legacy_objective]
            for objective_id in chosen:
                s.add("account_objectives", account_id, objective_id)
        if status == "pending_approval":
            self._request(f, account_id, owner, at)
        if hold:
            placed = at + (self.now - at) * rng.random()
            s.add("legal_holds", s.uid(), f.id, account_id, f"OP-{rng.randint(1000, 99999)}",
                  "Preserve for a misconduct investigation.", f"psd@{f.code}", placed)  # fmt: skip
            s.event(placed, (f"psd@{f.code}", ["psd"], f.code), "hold.placed", "account",
                    account_id, {"legal_hold": [False, True]}, f.id)  # fmt: skip

    def _owners(
        self, f: _Force, account_id: uuid.UUID, owner: int, at: datetime, closed: datetime | None
    ) -> None:
        end = closed or self.now
        if (end - at).days > 180 and self.rng.random() < 0.15:
            switch = at + (end - at) * self.rng.uniform(0.2, 0.8)
            before = self._pick(f, at, other_than=owner)
            if before is not None:
                self.custodian(before, account_id, "owner", at, switch)
                self.s.event(switch, f.actor, "account.owner_changed", "account", account_id,
                             {"owner_id": [str(self.p_id[before]), str(self.p_id[owner])]},
                             f.id)  # fmt: skip
                at = switch
        self.custodian(owner, account_id, "owner", at, closed)

    def _request(self, f: _Force, account_id: uuid.UUID, owner: int | None, at: datetime) -> None:
        rid = self.s.uid()
        sub = self.p_sub[owner] if owner is not None else f.actor[0]
        name = self.p_name[owner] if owner is not None else None
        person = self.p_id[owner] if owner is not None else None
        self.s.add("requests", rid, f.id, "registration", account_id, "Please register it.",
                   {}, "submitted", sub, name, person, 1, at, at)  # fmt: skip
        changes = {"kind": [None, "registration"], "account_id": [None, str(account_id)]}
        self.s.event(at, (sub, ["staff"], f.code), "request.created", "request", rid, changes, f.id)

    def _activity_plan(self, account_id: uuid.UUID, f: _Force, at: datetime, month: int,
                       status: str, closed: datetime | None) -> datetime | None:  # fmt: skip
        """Decide the account's posting history up front; returns its last post."""
        if status in ("pending_approval", "rejected"):
            return None
        rng = self.rng
        last = self._month_of(closed) if closed else self.months - 1
        r = rng.random()
        profile = (HEALTHY if r < 0.62 else BROADCAST if r < 0.72 else REPOSTER if r < 0.78
                   else DORMANT if r < 0.92 else SILENT)  # fmt: skip
        last_active = last
        if profile == DORMANT:
            if last - month >= 4:
                last_active = rng.randint(month, last - 4)
            else:
                profile = HEALTHY
        last_post = None
        if profile != SILENT:
            lo = max(at, self.starts[last_active])
            hi = min(self._month_end(last_active), closed or self.now)
            last_post = lo + (hi - lo) * rng.random() if hi > lo else lo
        self.active.append((account_id, f.id, month, last, last_active, profile,
                            rng.randint(50, 20_000), last_post, at))  # fmt: skip
        return last_post

    def _month_of(self, at: datetime) -> int:
        m = (at.year - self.start.year) * 12 + at.month - self.start.month
        return max(0, min(self.months - 1, m))

    def _month_end(self, m: int) -> datetime:
        return self.starts[m + 1] if m + 1 < self.months else self.now

    async def activity(self, m: int) -> None:
        s, rnd = self.s, self.rng.random
        start, end = self.starts[m], self._month_end(m)
        period_end = (end - timedelta(days=1)).date() if m + 1 < self.months else end.date()
        period_start, reported = start.date(), min(end + timedelta(days=2), self.now)
        rows = s.rows["activity"]
        for n, state in enumerate(self.active):
            account_id, force_id, first, last, last_active, profile, f0, last_post, at = state
            if first > m:
                break
            if m > last:
                continue
            o = rp = rl = 0
            lp = None
            if profile != SILENT and m <= last_active:
                # int(rnd() * k): the hot loop's cheap randint.
                if profile == HEALTHY:
                    o, rp, rl = 8 + int(rnd() * 53), 2 + int(rnd() * 19), 5 + int(rnd() * 36)
                elif profile == BROADCAST:
                    o, rp = 15 + int(rnd() * 46), int(rnd() * 11)
                elif profile == REPOSTER:
                    o, rp, rl = int(rnd() * 4), 20 + int(rnd() * 41), int(rnd() * 2)
                else:
                    o, rp, rl = 1 + int(rnd() * 15), int(rnd() * 6), int(rnd() * 6)
                lo, hi = max(start, at), min(end, self.now)
                lp = last_post if m == last_active else lo + (hi - lo) * rnd()
            followers = f0 + (m - first) * (f0 // 40 + 5)
            rows.append((s.seq_uid(), force_id, account_id, period_start, period_end, o, rp, rl,
                         followers, lp, reported, reported))  # fmt: skip
            if self.p_activity_event and rnd() < self.p_activity_event:
                changes = {"period_start": [None, period_start.isoformat()],
                           "original_posts": [None, o]}  # fmt: skip
                s.event(reported, COLLECTOR, "activity.reported", "account", account_id,
                        changes, force_id)  # fmt: skip
            if n % 1024 == 0:
                await asyncio.sleep(0)  # let the writer task stream the previous chunk
                if s.full():
                    await s.flush()

    # --- the timeline ------------------------------------------------------------------------

    async def _tick(self, n: int) -> None:
        if n % 64 == 0:
            await asyncio.sleep(0)  # let the writer task stream the previous chunk
        if self.s.full():
            await self.s.flush()

    async def run(self, progress: Callable[[str], None]) -> None:
        s, rng = self.s, self.rng
        self.setup()
        base = int(self.n_people * 0.4)
        before = sorted(self.start - timedelta(days=rng.uniform(0, 365)) for _ in range(base))
        for n, at in enumerate(before):
            s.release(at)
            self.person(at)
            await self._tick(n)
        progress(f"{base:,} people on staff before the history starts")
        people, accounts = (
            _spread(self.n_people - base, self.months),
            _spread(self.n_accounts, self.months),
        )
        for m in range(self.months):
            start, end = self.starts[m], self._month_end(m)
            kinds = ["p"] * people[m] + ["a"] * accounts[m]
            rng.shuffle(kinds)
            times = sorted(start + (end - start) * rng.random() for _ in kinds)
            for n, (kind, at) in enumerate(zip(kinds, times, strict=True)):
                s.release(at)
                if kind == "p":
                    self.person(at)
                else:
                    self.account(at, m)
                await self._tick(n)
            await self.activity(m)
            s.release(end)
            if s.full():
                await s.flush()
            progress(
                f"month {m + 1}/{self.months}: {self.account_seq:,} accounts, "
                f"{len(self.p_id):,} people, {s.counts['activity']:,}+ activity rows"
            )
        s.release(self.now)
        await s.flush()
        await s.drain()


def _cumulative(weights: Any) -> Any:
    total = 0
    for w in weights:
        total += w
        yield total


def _town(i: int) -> str:
    return TOWNS[i % len(TOWNS)] + (f" {i // len(TOWNS) + 1}" if i >= len(TOWNS) else "")


def _spread(total: int, parts: int) -> list[int]:
    each, extra = divmod(total, parts)
    return [each + (1 if i < extra else 0) for i in range(parts)]


_FRESH = "SELECT NOT EXISTS (SELECT 1 FROM activity) AND NOT EXISTS (SELECT 1 FROM audit_events)"
_UNIQUE = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = CAST(:t AS regclass) AND contype = 'u'"
)
_INDEXES = (
    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i "
    "ON i.oid = x.indexrelid WHERE x.indrelid = CAST(:t AS regclass) AND NOT x.indisprimary "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
)


async def _set_aside_indexes(db: Database) -> list[str]:
    """On a fresh PostgreSQL registry, drop the secondary indexes of the two big tables
    (activity, audit events) for the load; returns the DDL that rebuilds them exactly.

    Keeping random-keyed indexes up to date row by row costs more than the rest of the
    load; building them once afterwards takes seconds.
    """
    rebuild: list[str] = []
    async with db.engine.begin() as conn:
        if not await conn.scalar(sa.text(_FRESH)):
            return rebuild
        for table in ("activity", "audit_events"):
            for name, definition in (await conn.execute(sa.text(_UNIQUE), {"t": table})).all():
                await conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
                rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for name, definition in (await conn.execute(sa.text(_INDEXES), {"t": table})).all():
                await conn.execute(sa.text(f'DROP INDEX "{name}"'))
                rebuild.append(definition)
    return rebuild


async def seed(
    db: Database,
    *,
    forces: int,
    accounts: int,
    people: int | None = None,
    months: int = 60,
    audit_events: int | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    seed: int = 1,
) -> dict[str, Any]:
    """Generate and write a synthetic registry; returns the row counts written and seconds.

    people defaults to twice the accounts (at least 10 a force); months is the length of
    the history (activity, creation dates); audit_events None writes one event per change,
    a number caps the events at about that many (adding collectors' activity reports up to
    it). Raises SeedError for out-of-range sizes or when one of the forces already exists.
    """
    if not 1 <= forces <= MAX_FORCES:
        raise SeedError(f"forces must be 1 to {MAX_FORCES}")
    if not 0 <= accounts <= MAX_ACCOUNTS:
        raise SeedError(f"accounts must be 0 to {MAX_ACCOUNTS:,}")
    if not 1 <= months <= 240:
        raise SeedError("months must be 1 to 240")
    people = max(10 * forces, 2 * accounts) if people is None else people
    if not 0 <= people <= 5 * MAX_ACCOUNTS or (audit_events is not None and audit_events < 0):
        raise SeedError("people and audit_events must be non-negative (people at most 5,000,000)")
    began = time.perf_counter()
    now = clock.now().replace(microsecond=0)
    seeder = _Seeder(db, random.Random(seed), now, audit_events)
    world = _World(seeder, forces, accounts, people, months, audit_events or 0)
    async with db.session(write=False) as session:
        taken = list(await session.scalars(
            sa.select(Force.code).where(Force.code.in_([f.code for f in world.forces]))
        ))  # fmt: skip
        if not db.is_sqlite:
            is_super = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            seeder.superuser = bool(await session.scalar(sa.text(is_super)))
    if taken:
        raise SeedError(f"these forces already exist: {', '.join(sorted(taken))}")
    rebuild = await _set_aside_indexes(db) if seeder.pg else []
    # Millions of long-lived tuples would make every full collection walk them all.
    collecting = gc.isenabled()
    gc.disable()
    try:
        await world.run(progress)
    finally:
        if collecting:
            gc.enable()
        if rebuild:
            if seeder.writing is not None:
                seeder.writing.cancel()
            progress("rebuilding the activity and audit indexes")
            async with db.engine.begin() as conn:
                await conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
                for ddl in rebuild:
                    await conn.execute(sa.text(ddl))
    result: dict[str, Any] = dict(seeder.counts)
    result["seconds"] = round(time.perf_counter() - began, 1)
    progress(f"done in {result['seconds']} s")
    return result
