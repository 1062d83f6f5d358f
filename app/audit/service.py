"""The audit log: events written with the change they describe, a Merkle tree over them,
signed checkpoints of that tree, and the proofs an outsider checks them with.

Writing. `record()` queues an event on the session; a `before_commit` hook inserts
the queued events just before the transaction commits, so no service can commit a
change without its events. Writers take no lock: inserting an event is an ordinary
INSERT, so writers in every force commit concurrently.

Sequencing. The tree needs one order, and a transaction's events must not enter it
before the transaction commits (nor ever, if it rolls back). So leaf indexes are not
given at insert time; a *sequencer* gives them afterwards, as Trillian does. One
sequencer runs at a time — under a PostgreSQL advisory lock, or SQLite's writer lock —
and in one transaction it reads the committed events that have no leaf yet (in id
order), computes their canonical bytes (`verifier.event_leaf`) and leaf hashes, appends
them to `audit_leaves` (leaf_index primary key, event_id unique: an event is a leaf at
most once), and stores the hash of every complete subtree the new leaves close in
`audit_tree_nodes (level, index)`. A rolled-back event was never committed, so it is
never seen; an event whose transaction commits after a later id's is simply sequenced
in the next run (leaf order is sequencing order, deterministic once written). Runs are
triggered by every commit that wrote events (in-process background task), and by
checkpoint, verify and proof requests and `registry audit checkpoint`. The quick run
looks at ids above (highest sequenced id - SEQUENCER_WINDOW); a full run, done by
verify, the CLI and the periodic tick, looks at every event.

Reading. Any root or proof is made from at most O(log n) stored subtree hashes (the
complete subtrees of RFC 9162's splits), fetched in two statements: no pass over the
leaves, whatever the log's size.

Checkpoints. The tree's size and root, as a C2SP tlog-checkpoint signed with the
Ed25519 key of REGISTRY_AUDIT_SIGNING_KEY_FILE, are stored in `audit_checkpoints`
(and appended to REGISTRY_AUDIT_CHECKPOINT_LOG when set) every
REGISTRY_AUDIT_CHECKPOINT_EVENTS events or REGISTRY_AUDIT_CHECKPOINT_SECONDS seconds.

On PostgreSQL every audit table refuses UPDATE, DELETE and TRUNCATE (triggers). What
the database owner could still do — rewrite, truncate, re-sign with a stolen key — the
checkpoints held elsewhere reveal: `verify_log` recomputes the tree and checks every
stored, logged or given checkpoint against it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app import clock
from app.audit import repository
from app.audit.chain import EventContent, jsonable
from app.audit.verifier import (
    EMPTY_ROOT,
    Checkpoint,
    CompactRange,
    Signer,
    VerificationError,
    Verifier,
    complete_subtrees,
    consistency_ranges,
    event_leaf,
    inclusion_ranges,
    leaf_hash,
    open_checkpoint,
    range_hash,
)
from app.config import Settings
from app.context import request_id_var
from app.errors import AppError, NotFound
from app.models import AuditCheckpoint, AuditEvent
from app.replica import primary_reads_var

if TYPE_CHECKING:
    from app.auth.principal import Principal
    from app.db import Database

log = logging.getLogger(__name__)

_PENDING = "audit_pending"
_WROTE = "audit_wrote"
# One sequencer at a time on PostgreSQL (writers of events take no lock).
SEQUENCER_LOCK_KEY = 7_243_002
SEQUENCER_WINDOW = 10_000
SEQUENCER_BATCH = 5_000


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
    rows = [
        {
            "at": c.at,
            "actor_sub": c.actor_sub,
            "actor_roles": c.actor_roles,
            "actor_force": c.actor_force,
            "force_id": uuid.UUID(c.force_id) if c.force_id else None,
            "action": c.action,
            "entity_type": c.entity_type,
            "entity_id": c.entity_id,
            "changes": c.changes,
            "request_id": c.request_id,
        }
        for c in pending
    ]
    for start in range(0, len(rows), 5000):
        session.execute(sa.insert(AuditEvent), rows[start : start + 5000])
    session.info[_WROTE] = session.get_bind()


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _write_pending(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    bind = session.info.pop(_WROTE, None)
    if bind is not None:
        sequencer = _SEQUENCERS.get(id(bind.pool))
        if sequencer is not None:
            sequencer.wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_WROTE, None)


# --- the sequencer ----------------------------------------------------------------------


async def _sequence_batch(session: AsyncSession, floor: int | None, limit: int) -> list[int]:
    """One batch; `floor` None: the quick window. Returns the ids it sequenced."""
    await repository.lock_sequencer(session, SEQUENCER_LOCK_KEY)
    size, last_event = await repository.tree_head(session)
    if floor is None:
        floor = max(0, last_event - SEQUENCER_WINDOW)
    events = await repository.unsequenced(session, floor, limit)
    if not events:
        return []
    edge = CompactRange.levels(size)
    known = await repository.node_hashes(session, edge)
    tree = CompactRange(size, [known[k] for k in edge])
    # Hashing thousands of events is CPU work: off the event loop.
    leaves, nodes = await asyncio.to_thread(_grow, tree, events)
    await repository.append_leaves(session, leaves, nodes)
    return [row["id"] for row in events]


def _grow(
    tree: CompactRange, events: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    leaves, nodes = [], []
    for row in events:
        digest = leaf_hash(event_leaf(row))
        leaves.append({"leaf_index": tree.size, "event_id": row["id"], "leaf_hash": digest})
        nodes += [{"level": lv, "index": ix, "hash": h} for lv, ix, h in tree.append(digest)]
    return leaves, nodes


async def sequence(db: Database, *, full: bool = False) -> int:
    """Give leaf indexes to the committed events that have none; how many it gave."""
    added = 0
    floor = 0 if full else None
    while True:
        async with db.session() as session:
            ids = await _sequence_batch(session, floor, SEQUENCER_BATCH)
            await session.commit()
        added += len(ids)
        if ids:
            # This request's later reads must see these leaves: not a lagging replica.
            primary_reads_var.set(True)
        if len(ids) < SEQUENCER_BATCH:
            return added
        # Every lower id committed by now was in this batch's query: go on above it (a
        # later commit of a lower id waits for the next run).
        floor = ids[-1]


class Sequencer:
    """The in-process background task: sequences after every commit that wrote events,
    signs a checkpoint when one is due, and sweeps every event now and then."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        _SEQUENCERS[id(self.db.engine.pool)] = self
        self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        _SEQUENCERS.pop(id(self.db.engine.pool), None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            full = False
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.audit_checkpoint_seconds)
            except TimeoutError:
                full = True
            self._wake.clear()
            try:
                await sequence(self.db, full=full)
                await checkpoint_if_due(self.db, self.settings)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep sequencing on the next wake; the log says why
                from app.db import unavailable

                if unavailable(exc):  # one line, as for requests, while the database is away
                    log.warning("audit sequencer: database unavailable (%s)", type(exc).__name__)
                else:
                    log.exception("audit sequencer run failed")


_SEQUENCERS: dict[int, Sequencer] = {}


# --- reading the tree -------------------------------------------------------------------


async def tree_size(session: AsyncSession) -> int:
    return (await repository.tree_head(session))[0]


async def root_at(source: AsyncSession | Database, size: int) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    keys = complete_subtrees(0, size)
    nodes = await repository.node_hashes(source, keys)
    return range_hash(0, size, lambda lv, ix: nodes[(lv, ix)])


async def _hashes_for(session: AsyncSession, ranges: list[tuple[int, int]]) -> list[str]:
    keys = [k for a, b in ranges for k in complete_subtrees(a, b)]
    return _encode(ranges, await repository.node_hashes(session, keys))


class AuditKeyMissing(AppError):
    code = "audit-key-missing"
    status = 409
    title = "No audit signing key"


class EventNotFound(NotFound):
    code = "audit-event-not-found"


async def _default_size(db: Database) -> int:
    """The latest checkpoint's size; with none yet, the whole tree's (once sequenced)."""
    async with db.session(write=False) as session:
        latest = await repository.latest_checkpoint(session)
    if latest is not None:
        return latest.tree_size
    await sequence(db)
    async with db.session(write=False) as session:
        return await tree_size(session)


async def event_with_leaf(
    db: Database, principal: Principal, event_id: int
) -> tuple[AuditEvent, int | None, bytes]:
    """A visible event, its leaf index (sequencing it first if need be) and leaf bytes."""
    async with db.session(write=False) as session:
        row = await repository.visible_event(session, principal, event_id)
        if row is None:
            raise EventNotFound(f"No audit event {event_id}.")
        leaf = await repository.leaf_of(session, event_id)
    if leaf is None and await sequence(db):
        async with db.session(write=False) as session:
            leaf = await repository.leaf_of(session, event_id)
    return row, (leaf[0] if leaf else None), event_leaf(_event_doc(row))


def _event_doc(row: AuditEvent) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in AuditEvent.__table__.c}


async def inclusion_proof(
    db: Database, principal: Principal, event_id: int, size: int | None
) -> dict[str, Any]:
    if not db.is_sqlite and size is not None:
        # The hot path on PostgreSQL: two statements on the direct read pool.
        visible, index, current = await repository.visible_leaf_direct(db, principal, event_id)
        if not visible:
            raise EventNotFound(f"No audit event {event_id}.")
        if index is not None:
            _check_size(event_id, index, size, current)
            ranges = inclusion_ranges(index, size)
            keys = [k for a, b in ranges for k in complete_subtrees(a, b)]
            nodes = await repository.node_hashes_direct(db, keys)
            return {"leaf_index": index, "tree_size": size, "hashes": _encode(ranges, nodes)}
    _row, index, _leaf = await event_with_leaf(db, principal, event_id)
    if index is None:
        raise EventNotFound(f"Audit event {event_id} is not in the tree yet.")
    size = await _default_size(db) if size is None else size
    async with db.session(write=False) as session:
        _check_size(event_id, index, size, await tree_size(session))
        hashes = await _hashes_for(session, inclusion_ranges(index, size))
    return {"leaf_index": index, "tree_size": size, "hashes": hashes}


class TreeSizeNotFound(NotFound):
    """A tree the log has not reached, or one that does not hold the event: no such proof
    exists (404, like an id that does not exist; the document cannot know the log's size)."""

    code = "tree-size-not-found"


def _check_size(event_id: int, index: int, size: int, current: int) -> None:
    if size <= index:
        raise TreeSizeNotFound(
            f"Event {event_id} is leaf {index}: a tree of {size} events does not hold it."
        )
    if size > current:
        raise TreeSizeNotFound(f"The log holds {current} events; there is no tree of {size}.")


def _encode(ranges: list[tuple[int, int]], nodes: dict[tuple[int, int], bytes]) -> list[str]:
    return [
        base64.b64encode(range_hash(a, b, lambda lv, ix: nodes[(lv, ix)])).decode()
        for a, b in ranges
    ]


async def consistency_proof(db: Database, first: int, second: int | None) -> dict[str, Any]:
    second = await _default_size(db) if second is None else second
    async with db.session(write=False) as session:
        current = await tree_size(session)
    if second > current and await sequence(db):
        async with db.session(write=False) as session:
            current = await tree_size(session)
    if second > current:
        raise TreeSizeNotFound(f"The log holds {current} events; there is no tree of {second}.")
    if first > second:
        # A larger tree is never a prefix of a smaller one: no such proof exists.
        raise TreeSizeNotFound(
            f"No tree of {second} events extends one of {first}: first must not exceed second."
        )
    async with db.session(write=False) as session:
        hashes = await _hashes_for(session, consistency_ranges(first, second))
    return {"first": first, "second": second, "hashes": hashes}


# --- checkpoints --------------------------------------------------------------------------

_SIGNERS: dict[tuple[str, float], Signer] = {}


def signer_of(settings: Settings) -> Signer | None:
    path = settings.audit_signing_key_file
    if not path:
        return None
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        raise AuditKeyMissing(f"The audit signing key file {path} cannot be read.") from None
    signer = _SIGNERS.get((path, stamp))
    if signer is None:
        try:
            signer = Signer.parse(Path(path).read_text(encoding="utf-8"))
        except (OSError, VerificationError) as exc:
            raise AuditKeyMissing(f"The audit signing key file {path}: {exc}") from None
        _SIGNERS.clear()
        _SIGNERS[(path, stamp)] = signer
    return signer


def require_signer(settings: Settings) -> Signer:
    signer = signer_of(settings)
    if signer is None:
        raise AuditKeyMissing(
            "No audit signing key is configured (REGISTRY_AUDIT_SIGNING_KEY_FILE; "
            "`registry audit keygen` makes one)."
        )
    return signer


def write_key(path: Path, name: str) -> Signer:
    """A new Ed25519 signing key in `path` (readable by its owner only)."""
    signer = Signer.generate(name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(str(signer) + "\n")
    return signer


async def make_checkpoint(db: Database, settings: Settings) -> AuditCheckpoint:
    """Sequence, then sign and store a checkpoint of the tree as it now is."""
    signer = require_signer(settings)
    await sequence(db)
    async with db.session() as session:
        await repository.lock_sequencer(session, SEQUENCER_LOCK_KEY)
        size = await tree_size(session)
        root = await root_at(session, size)
        note = signer.sign(Checkpoint(signer.name, size, root).body())
        row = await repository.add_checkpoint(session, size, root, note, clock.now())
        await session.commit()
    if settings.audit_checkpoint_log:
        await asyncio.to_thread(_append, Path(settings.audit_checkpoint_log), note)
    return row


def _append(path: Path, note: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(note + "\n")


async def checkpoint_if_due(db: Database, settings: Settings) -> AuditCheckpoint | None:
    if signer_of(settings) is None:
        return None
    async with db.session(write=False) as session:
        size = await tree_size(session)
        latest = await repository.latest_checkpoint(session)
    if latest is None:
        due = size > 0
    else:
        age = (clock.now() - latest.created_at).total_seconds()
        due = size - latest.tree_size >= settings.audit_checkpoint_events or (
            size > latest.tree_size and age >= settings.audit_checkpoint_seconds
        )
    return await make_checkpoint(db, settings) if due else None


# --- verification ---------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    events_checked: int
    first_broken_id: int | None
    tree_size: int = 0
    root_hash: str | None = None
    checkpoints_checked: int = 0
    problems: list[str] = field(default_factory=list)
    pending: int = 0


class _Recompute:
    """The tree rebuilt from the events, a batch of leaves at a time."""

    def __init__(self, expected: dict[int, list[tuple[str, bytes]]], broken: Any) -> None:
        self.tree = CompactRange()
        self.expected = expected
        self.broken = broken
        self.last_ok = 0

    def take(self, rows: list[dict[str, Any]]) -> dict[int, dict[int, bytes]] | None:
        """Append a batch; the subtree hashes it closed, None when the leaves stop."""
        closed: dict[int, dict[int, bytes]] = {}
        tree = self.tree
        for row in rows:
            index, event_id = row["leaf_index"], row["event_id"]
            if index != tree.size:
                self.broken(event_id, f"leaves {tree.size} to {index - 1} are missing")
                return None  # what follows cannot be placed
            if row["event_row_id"] is None:
                self.broken(event_id, f"event {event_id} (leaf {index}) is missing")
                digest = bytes(row["leaf_hash"])
            else:
                digest = leaf_hash(event_leaf({**row, "id": event_id}))
                if digest != bytes(row["leaf_hash"]):
                    self.broken(event_id, f"event {event_id} (leaf {index}) differs from its leaf")
            for lv, ix, h in tree.append(digest):
                closed.setdefault(lv, {})[ix] = h
            for label, root in self.expected.get(tree.size, []):
                if tree.root() != root:
                    self.broken(
                        None,
                        f"{label}: a different root at size {tree.size} — the log was "
                        f"rewritten among leaves {self.last_ok} to {tree.size - 1}",
                    )
                else:
                    self.last_ok = tree.size
        return closed


def read_checkpoint_file(path: str | Path) -> list[str]:
    """The signed notes in a file of checkpoints, one after another (blank-line separated)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    notes, current = [], []
    for line in text.splitlines(keepends=True):
        current.append(line)
        if line.startswith("\u2014 "):
            notes.append("".join(current))
            current = []
        elif line == "\n" and current[:-1] and current[-2].startswith("\u2014 "):
            current = []
    return [n.lstrip("\n") for n in notes]


async def verify_log(
    db: Database,
    settings: Settings,
    *,
    external: list[str] | None = None,
    verifier: Verifier | None = None,
    batch: int = 5000,
    sequence_first: bool = True,
) -> VerifyResult:
    """Recompute every leaf and the tree; check every stored, logged and given checkpoint.

    `sequence_first` sequences every committed event first (a write: the CLI does; the
    HTTP route only reads, and reports the events still waiting as `pending`).
    Names what fails: the first event whose row no longer makes its leaf (or whose leaf
    is gone), a checkpoint whose signature does not hold, a checkpoint that signs more
    events than the log holds (truncation) or another root at its size (rewrite).
    """
    if sequence_first:
        await sequence(db, full=True)
    if verifier is None:
        signer = signer_of(settings)
        verifier = signer.verifier if signer else None
    problems: list[str] = []
    first_broken: int | None = None

    def broken(event_id: int | None, message: str) -> None:
        nonlocal first_broken
        if first_broken is None and event_id is not None:
            first_broken = event_id
        problems.append(message)

    async with db.session(write=False) as session:
        stored = await repository.all_checkpoints(session)
    # Every checkpoint to hold the log to: stored ones, the log file's, the given ones.
    claims: list[tuple[str, str]] = []
    prev_id = 0
    for cp in stored:
        if cp.id != prev_id + 1:
            problems.append(f"checkpoint {prev_id + 1} is missing (deleted from the database)")
        prev_id = cp.id
        claims.append((f"checkpoint {cp.id}", cp.note))
        try:
            body = Checkpoint.parse(cp.note.rsplit("\n\n", 1)[0] + "\n")
        except VerificationError as exc:
            problems.append(f"checkpoint {cp.id}: {exc}")
            continue
        if (body.size, body.root) != (cp.tree_size, bytes(cp.root_hash)):
            problems.append(f"checkpoint {cp.id}: its columns differ from its signed note")
    stored_notes = {cp.note for cp in stored}
    logged = (
        await asyncio.to_thread(read_checkpoint_file, settings.audit_checkpoint_log)
        if settings.audit_checkpoint_log
        else []
    )
    if logged:
        for n, note in enumerate(logged, 1):
            if note not in stored_notes:
                problems.append(
                    f"checkpoint log entry {n} is not in the database (deleted or altered)"
                )
            claims.append((f"checkpoint log entry {n}", note))
    for n, note in enumerate(external or [], 1):
        claims.append((f"given checkpoint {n}", note))

    expected: dict[int, list[tuple[str, bytes]]] = {}
    checked = 0
    for label, note in claims:
        if verifier is None:
            problems.append(f"{label}: no verifier key to check its signature")
            continue
        try:
            signed = open_checkpoint(note, verifier, verifier.name)
        except VerificationError as exc:
            problems.append(f"{label}: {exc}")
            continue
        checked += 1
        expected.setdefault(signed.size, []).append((label, signed.root))

    # Recompute the tree from the events, in leaf order (the hashing off the event loop).
    state = _Recompute(expected, broken)
    async with db.session(write=False) as session:
        after = -1
        while rows := await repository.leaves_with_events(session, after, batch):
            closed = await asyncio.to_thread(state.take, rows)
            if closed is None:
                break
            for lv, nodes in closed.items():
                have = await repository.stored_nodes(session, lv, min(nodes), max(nodes))
                for ix in sorted(nodes):
                    if have.get(ix) != nodes[ix]:
                        problems.append(f"stored subtree hash (level {lv}, index {ix}) is wrong")
                        break
            after = rows[-1]["leaf_index"]
        tree = state.tree
        size = tree.size
        unsequenced = await repository.count_unsequenced(session)
    if 0 in expected:
        for label, root in expected[0]:
            if root != EMPTY_ROOT:
                problems.append(f"{label}: a different root for the empty log")
    for cp_size, claims_at in sorted(expected.items()):
        if cp_size > size:
            for label, _root in claims_at:
                problems.append(f"{label} signs {cp_size} events; the log holds {size} (truncated)")
    return VerifyResult(
        ok=not problems,
        events_checked=size,
        first_broken_id=first_broken,
        tree_size=size,
        root_hash=base64.b64encode(tree.root()).decode(),
        checkpoints_checked=checked,
        problems=problems,
        pending=unsequenced,
    )
