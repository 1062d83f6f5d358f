"""The synthetic registry's timeline: forces, people and accounts created month by month,
with custody, sign-offs, status changes, holds, requests and monthly activity."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from app.accounts.handles import canonical_url
from app.lookalikes import skeleton
from app.seed.data import (
    COLLECTOR,
    FIRST,
    FORCES,
    LAST,
    OBJECTIVES,
    PLATFORM_WEIGHTS,
    SEED_ACTOR,
    SPECIALISTS,
    TITLES,
    TOWNS,
    handle_for,
)  # fmt: skip
from app.seed.writer import BulkWriter

# Activity profiles of an account.
HEALTHY, BROADCAST, REPOSTER, DORMANT, SILENT = range(5)


def _month_starts(end: datetime, months: int) -> list[datetime]:
    year, month = end.year, end.month
    starts = []
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


class _Guideline:
    def __init__(
        self, s: BulkWriter, force_id: Any, code: str, version: int, eff: datetime, bit: int
    ):
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


class World:
    def __init__(
        self, s: BulkWriter, forces: int, accounts: int, people: int, months: int, audit_events: int
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
              review, last_post, hold, 1, at, changed or at,
              skeleton.key(handle), skeleton.stem(handle))  # fmt: skip
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
