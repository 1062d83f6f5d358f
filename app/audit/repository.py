from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import force_filter
from app.auth.principal import Principal
from app.db import Database
from app.models import AuditCheckpoint, AuditEvent, AuditLeaf, AuditTreeNode


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    entity_type: str | None,
    entity_id: str | None,
    actor: str | None,
    action: str | None = None,
    since: datetime | None,
    until: datetime | None,
    after_id: int | None,
    limit: int,
) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(force_filter(principal, AuditEvent.force_id))
    if entity_type is not None:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    if actor is not None:
        query = query.where(AuditEvent.actor_sub == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if after_id is not None:
        query = query.where(AuditEvent.id > after_id)
    return list((await session.scalars(query.order_by(AuditEvent.id).limit(limit + 1))).all())


# --- the Merkle tree ------------------------------------------------------------------

_EVENTS = AuditEvent.__table__
_LEAVES = AuditLeaf.__table__
_NODES = AuditTreeNode.__table__


async def lock_sequencer(session: AsyncSession, key: int) -> None:
    """PostgreSQL: one sequencer at a time, for the rest of the transaction. (SQLite's
    writer transaction, BEGIN IMMEDIATE, already excludes every other writer.)"""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


async def tree_head(session: AsyncSession) -> tuple[int, int]:
    """(tree size, highest sequenced event id)."""
    row = (
        await session.execute(
            sa.select(sa.func.max(_LEAVES.c.leaf_index), sa.func.max(_LEAVES.c.event_id))
        )
    ).one()
    return (0 if row[0] is None else row[0] + 1), (row[1] or 0)


async def unsequenced(session: AsyncSession, floor: int, limit: int) -> list[dict[str, Any]]:
    """Committed events with id > floor that have no leaf yet, in id order."""
    query = (
        sa.select(_EVENTS)
        .where(
            _EVENTS.c.id > floor,
            ~sa.exists().where(_LEAVES.c.event_id == _EVENTS.c.id),
        )
        .order_by(_EVENTS.c.id)
        .limit(limit)
    )
    return [dict(r) for r in (await session.execute(query)).mappings().all()]


async def append_leaves(
    session: AsyncSession, leaves: list[dict[str, Any]], nodes: list[dict[str, Any]]
) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # COPY, in this transaction: a tenth of the cost of INSERTs with bound values.
        conn = await session.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.copy_records_to_table(  # type: ignore[union-attr]
            "audit_leaves",
            records=[(r["leaf_index"], r["event_id"], r["leaf_hash"]) for r in leaves],
            columns=["leaf_index", "event_id", "leaf_hash"],
        )
        if nodes:
            await raw.copy_records_to_table(  # type: ignore[union-attr]
                "audit_tree_nodes",
                records=[(r["level"], r["index"], r["hash"]) for r in nodes],
                columns=["level", "index", "hash"],
            )
        return
    for start in range(0, len(leaves), 5000):
        await session.execute(sa.insert(_LEAVES), leaves[start : start + 5000])
    for start in range(0, len(nodes), 5000):
        await session.execute(sa.insert(_NODES), nodes[start : start + 5000])


async def node_hashes(
    session: AsyncSession | Database, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Complete-subtree hashes by (level, index): level 0 from the leaves, others from
    the node table — two statements at most."""
    keys = set(keys)
    out: dict[tuple[int, int], bytes] = {}
    leaves = sorted(i for level, i in keys if level == 0)
    inner = sorted(k for k in keys if k[0] > 0)
    if leaves:
        rows = await _rows(
            session,
            sa.select(_LEAVES.c.leaf_index, _LEAVES.c.leaf_hash).where(
                _LEAVES.c.leaf_index.in_(leaves)
            ),
        )
        out.update({(0, r[0]): bytes(r[1]) for r in rows})
    if inner:
        rows = await _rows(
            session,
            sa.select(_NODES.c.level, _NODES.c.index, _NODES.c.hash).where(
                sa.tuple_(_NODES.c.level, _NODES.c.index).in_(inner)
            ),
        )
        out.update({(r[0], r[1]): bytes(r[2]) for r in rows})
    return out


async def _rows(
    source: AsyncSession | Database, query: sa.Select[*tuple[Any, ...]]
) -> Sequence[Any]:
    if isinstance(source, AsyncSession):
        return (await source.execute(query)).all()
    async with source.engine.connect() as conn:
        return (await conn.execute(query)).all()


async def leaf_of(session: AsyncSession, event_id: int) -> tuple[int, bytes] | None:
    row = (
        await session.execute(
            sa.select(_LEAVES.c.leaf_index, _LEAVES.c.leaf_hash).where(
                _LEAVES.c.event_id == event_id
            )
        )
    ).first()
    return None if row is None else (row[0], bytes(row[1]))


async def visible_event(
    session: AsyncSession, principal: Principal, event_id: int
) -> AuditEvent | None:
    return (
        await session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.id == event_id, force_filter(principal, AuditEvent.force_id)
            )
        )
    ).first()


async def leaves_with_events(
    session: AsyncSession, after_index: int, limit: int
) -> list[dict[str, Any]]:
    """Leaves from `after_index` on, each with its event's columns (None where the event
    row is gone), in leaf order."""
    query = (
        sa.select(
            _LEAVES.c.leaf_index,
            _LEAVES.c.event_id,
            _LEAVES.c.leaf_hash,
            _EVENTS.c.id.label("event_row_id"),
            *(c for c in _EVENTS.c if c.name != "id"),
        )
        .select_from(_LEAVES.outerjoin(_EVENTS, _EVENTS.c.id == _LEAVES.c.event_id))
        .where(_LEAVES.c.leaf_index > after_index)
        .order_by(_LEAVES.c.leaf_index)
        .limit(limit)
    )
    return [dict(r) for r in (await session.execute(query)).mappings().all()]


async def stored_nodes(
    session: AsyncSession, level: int, first: int, last: int
) -> dict[int, bytes]:
    rows = (
        await session.execute(
            sa.select(_NODES.c.index, _NODES.c.hash).where(
                _NODES.c.level == level, _NODES.c.index.between(first, last)
            )
        )
    ).all()
    return {r[0]: bytes(r[1]) for r in rows}


async def count_unsequenced(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(_EVENTS)
            .where(~sa.exists().where(_LEAVES.c.event_id == _EVENTS.c.id))
        )
        or 0
    )


# --- checkpoints ----------------------------------------------------------------------


async def add_checkpoint(
    session: AsyncSession, tree_size: int, root: bytes, note: str, at: datetime
) -> AuditCheckpoint:
    """The next checkpoint, numbered one past the last (call under the sequencer lock)."""
    last = await session.scalar(sa.select(sa.func.max(AuditCheckpoint.id)))
    row = AuditCheckpoint(
        id=(last or 0) + 1, tree_size=tree_size, root_hash=root, note=note, created_at=at
    )
    session.add(row)
    await session.flush()
    return row


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    return (
        await session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()))
    ).first()


async def checkpoints_page(
    session: AsyncSession, after_id: int | None, limit: int
) -> list[AuditCheckpoint]:
    query = sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(AuditCheckpoint.id > after_id)
    return list((await session.scalars(query)).all())


async def all_checkpoints(session: AsyncSession) -> list[AuditCheckpoint]:
    return list(
        (await session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id))).all()
    )


# --- the proof read path on PostgreSQL: two statements, no transaction ----------------

_LEAF_OF_VISIBLE = """
SELECT l.leaf_index, (SELECT max(leaf_index) FROM audit_leaves) AS last_index
FROM audit_events e LEFT JOIN audit_leaves l ON l.event_id = e.id
WHERE e.id = $1 AND ($2::uuid IS NULL OR e.force_id = $2)
"""
# One primary-key probe per wanted node (LATERAL), whatever plan the statement gets.
_NODES_BY_KEY = """
SELECT k.level, k.index, n.hash
FROM unnest($1::smallint[], $2::bigint[]) AS k(level, index)
CROSS JOIN LATERAL (
    SELECT hash FROM audit_tree_nodes WHERE level = k.level AND index = k.index
) AS n
UNION ALL
SELECT 0, leaf_index, leaf_hash FROM audit_leaves WHERE leaf_index = ANY($3::bigint[])
"""


async def visible_leaf_direct(
    db: Database, principal: Principal, event_id: int
) -> tuple[bool, int | None, int]:
    """(event visible, its leaf index or None, tree size) in one statement."""
    force = None if principal.is_national else principal.force_id
    rows = await db.fetch_sql(_LEAF_OF_VISIBLE, event_id, force)
    if not rows:
        return False, None, 0
    last = rows[0]["last_index"]
    return True, rows[0]["leaf_index"], 0 if last is None else last + 1


async def node_hashes_direct(
    db: Database, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    keys = set(keys)
    inner = [k for k in keys if k[0] > 0]
    leaves = [i for level, i in keys if level == 0]
    rows = await db.fetch_sql(_NODES_BY_KEY, [k[0] for k in inner], [k[1] for k in inner], leaves)
    return {(r[0], r[1]): bytes(r[2]) for r in rows}
