"""The background sequencer: woken by every commit that wrote events, it puts them in
the tree without being asked, and signs a checkpoint every N events."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from app.audit import service as audit
from app.audit.service import Sequencer
from app.models import AuditCheckpoint, AuditLeaf


async def write_events(db, n: int) -> None:  # type: ignore[no-untyped-def]
    """n events in one transaction (one commit, one wake)."""
    async with db.session() as s:
        for i in range(n):
            audit.record(s, audit.Actor.system(), "thing.done", "thing", i)
        await s.commit()


async def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    async with db.session(write=False) as s:
        return int(await s.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


async def _until(check, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the sequencer did not run"
        await asyncio.sleep(0.05)


async def test_commits_wake_the_sequencer_and_checkpoints_follow(db, signed_settings, app):
    settings = signed_settings.model_copy(update={"audit_checkpoint_events": 3})
    sequencer = Sequencer(db, settings)
    sequencer.start()
    try:
        await write_events(db, 2)

        async def leaves(n: int) -> bool:
            return await _count(db, AuditLeaf) == n

        async def checkpoints(n: int) -> bool:
            return await _count(db, AuditCheckpoint) == n

        await _until(lambda: leaves(2))
        await _until(lambda: checkpoints(1))  # the first one as soon as there are events
        await write_events(db, 2)
        await _until(lambda: leaves(4))
        await asyncio.sleep(0.3)
        assert await checkpoints(1)  # 2 new events: fewer than 3
        await write_events(db, 1)
        await _until(lambda: checkpoints(2))
        async with db.session(write=False) as s:
            sizes = list(await s.scalars(sa.select(AuditCheckpoint.tree_size).order_by(
                AuditCheckpoint.id
            )))  # fmt: skip
        assert sizes == [2, 5]
    finally:
        await sequencer.stop()
