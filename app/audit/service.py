"""Recording audit events in the transaction of the change they describe.

`record()` queues an event on the session; a `before_commit` hook writes every
queued event as links of the hash chain just before the transaction commits.
Writing last keeps the chain lock short and means no service can forget to
write its events: a commit without them is impossible.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import await_, in_greenlet

from app import clock
from app.audit.chain import GENESIS, EventContent, jsonable, link
from app.context import request_id_var
from app.models import AuditEvent

if TYPE_CHECKING:
    from app.auth.principal import Principal

T = TypeVar("T")
_PENDING = "audit_pending"
# Serialises chain writers on PostgreSQL for the rest of their transaction.
CHAIN_LOCK_KEY = 7_243_001


@dataclass(frozen=True)
class Actor:
    sub: str
    roles: list[str]
    force: str | None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(sub=name, roles=[], force=None)


def actor_of(principal: Principal | Actor) -> Actor:
    if isinstance(principal, Actor):
        return principal
    return Actor(sub=principal.sub, roles=sorted(principal.roles), force=principal.force)


def record(
    session: AsyncSession | Session,
    actor: Principal | Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str | int,
    changes: dict[str, Any] | None = None,
    *,
    force_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> None:
    """Queue an audit event; it is written in this transaction, just before commit."""
    who = actor_of(actor)
    content = EventContent(
        at=at or clock.now(),
        actor_sub=who.sub,
        actor_roles=list(who.roles),
        actor_force=who.force,
        force_id=str(force_id) if force_id else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        changes=jsonable(changes or {}),
        request_id=request_id_var.get(),
    )
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_PENDING, []).append(content)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for the fields that changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _write_pending(session: Session) -> None:
    if not session.info.get(_PENDING):
        return
    # before_commit runs ahead of the final flush: flush first so the events
    # follow the rows they describe (and their foreign keys resolve).
    session.flush()
    pending: list[EventContent] = session.info.pop(_PENDING, [])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
    prev = session.execute(
        sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev = prev or GENESIS
    rows = _off_the_loop(_linked, prev, pending) if len(pending) > 100 else _linked(prev, pending)
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(sa.insert(AuditEvent), rows[start : start + INSERT_BATCH])


# Rows per INSERT of the events: each batch's parameters are prepared on the event loop.
INSERT_BATCH = 1000


def _off_the_loop(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a worker thread when called from an AsyncSession (sync code run in a
    greenlet on the event loop), inline in plain sync code. An import of 50,000 accounts
    queues 50,000 events: hashing them on the loop held every other request."""
    if in_greenlet():
        return await_(anyio.to_thread.run_sync(fn, *args))
    return fn(*args)


def _linked(prev: str, pending: list[EventContent]) -> list[dict[str, Any]]:
    """The events as rows of the chain that continues from `prev`."""
    rows = []
    for content in pending:
        digest = link(prev, content)
        rows.append(
            {
                "at": content.at,
                "actor_sub": content.actor_sub,
                "actor_roles": content.actor_roles,
                "actor_force": content.actor_force,
                "force_id": uuid.UUID(content.force_id) if content.force_id else None,
                "action": content.action,
                "entity_type": content.entity_type,
                "entity_id": content.entity_id,
                "changes": content.changes,
                "request_id": content.request_id,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    return rows


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _write_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def content_of(row: AuditEvent | Any) -> EventContent:
    return EventContent(
        at=row.at,
        actor_sub=row.actor_sub,
        actor_roles=list(row.actor_roles or []),
        actor_force=row.actor_force,
        force_id=str(row.force_id) if row.force_id else None,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        changes=row.changes or {},
        request_id=row.request_id,
    )


@dataclass
class VerifyResult:
    ok: bool
    events_checked: int
    first_broken_id: int | None


# Columns, not ORM objects: building thousands of instances per batch is loop time too.
_VERIFY_COLUMNS = (
    AuditEvent.id, AuditEvent.at, AuditEvent.actor_sub, AuditEvent.actor_roles,
    AuditEvent.actor_force, AuditEvent.force_id, AuditEvent.action, AuditEvent.entity_type,
    AuditEvent.entity_id, AuditEvent.changes, AuditEvent.request_id, AuditEvent.prev_hash,
    AuditEvent.hash,
)  # fmt: skip


def _check_links(prev: str, result: sa.Result[Any]) -> tuple[str, int, int | None, int | None]:
    """(last hash, events checked, first broken id or None, last id) for one batch."""
    # The result is buffered (AsyncSession prebuffers rows): turning it into rows (JSON,
    # timestamps, UUIDs) needs no connection, and is loop time saved too.
    last_id = None
    checked = 0
    for row in result.all():
        checked += 1
        if row.prev_hash != prev or link(prev, content_of(row)) != row.hash:
            return prev, checked, row.id, row.id
        prev, last_id = row.hash, row.id
    return prev, checked, None, last_id


async def verify_chain(session: AsyncSession, batch: int = 1000) -> VerifyResult:
    """Recompute every link in id order; name the first event whose link does not hold.

    Millions of events take seconds of hashing: each batch is read on the session and
    hashed in a worker thread, so the event loop keeps serving other requests."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        result = await session.execute(
            sa.select(*_VERIFY_COLUMNS)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch)
        )
        prev, done, broken, last = await anyio.to_thread.run_sync(_check_links, prev, result)
        checked += done
        if broken is not None:
            return VerifyResult(ok=False, events_checked=checked, first_broken_id=broken)
        if last is None:
            return VerifyResult(ok=True, events_checked=checked, first_broken_id=None)
        last_id = last
