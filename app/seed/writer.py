"""Writing the generated rows in bulk: chunked transactions, COPY on PostgreSQL, and the
audit events (the sequencer puts them in the Merkle tree afterwards)."""

from __future__ import annotations

import asyncio
import heapq
import json
import random
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.chain import EventContent
from app.db import Database
from app.models import Base

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
                 "created_at", "updated_at", "lookalike_key", "lookalike_stem"),
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
    "entity_id", "changes", "request_id",
)  # fmt: skip
JSON_COLUMNS = {("requests", "details")}

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


class BulkWriter:
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
        rows = []
        role_json: dict[tuple[str, ...], str] = {}
        for e in events:
            force = uuid.UUID(e.force_id) if e.force_id else None
            roles: Any = e.actor_roles
            if self.pg:
                key = tuple(roles)
                roles = role_json.get(key) or role_json.setdefault(key, json.dumps(roles))
            changes: Any = json.dumps(e.changes) if self.pg else e.changes
            rows.append((e.at, e.actor_sub, roles, e.actor_force, force, e.action,
                         e.entity_type, e.entity_id, changes, None))  # fmt: skip
        columns = AUDIT_COLUMNS
        if self.pg:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "audit_events", records=rows, columns=list(columns)
            )
        else:
            await self._copy(conn, "audit_events", columns, rows)
        self.counts["audit_events"] += len(rows)


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


async def set_aside_indexes(db: Database) -> list[str]:
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
