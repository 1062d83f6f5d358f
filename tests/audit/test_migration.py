"""Migration audit_tree on a registry that already has a hash-chained audit log: its
events become leaves 0…n-1 in id order, and the downgrade re-links the same chain."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from app.audit.service import verify_log
from app.audit.verifier import event_leaf, leaf_hash, root_of
from app.config import Settings
from app.db import Database
from app.migrate import run_on
from tests.conftest import _admin_url

MIGRATION = Path(__file__).resolve().parents[2] / "migrations/versions/2026_12_02_audit_tree.py"


def _migration():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("audit_tree_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture
async def fresh_url(settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    if settings.is_sqlite:
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"registry_mig_{uuid.uuid4().hex[:10]}"
    admin = Settings(database_url=_admin_url(settings.database_url)).async_database_url
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield settings.database_url.rsplit("/", 1)[0] + "/" + name
    finally:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


async def test_existing_events_migrate_into_the_tree_and_back(fresh_url, settings):
    mig = _migration()
    db = Database(settings.model_copy(update={"database_url": fresh_url}))
    try:
        async with db.engine.begin() as conn:
            await run_on(conn, "upgrade", "0003")
        events = mig._events()
        chain = sa.table("audit_events", *(sa.column(c) for c in ("id", "prev_hash", "hash")))
        start = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
        rows, prev, links = [], "0" * 64, []
        for i in range(13):
            row = {
                "id": i + 1, "at": start + timedelta(minutes=i), "actor_sub": f"u{i}@staffs",
                "actor_roles": ["comms_admin"], "actor_force": "staffs", "force_id": None,
                "action": "account.updated", "entity_type": "account", "entity_id": str(i),
                "changes": {"display_name": ["Ä", f"B{i}"]}, "request_id": None,
            }  # fmt: skip
            digest = mig._link(prev, _AsRow(row))
            links.append((prev, digest))
            rows.append(row)
            prev = digest
        async with db.engine.begin() as conn:
            old = sa.table(
                "audit_events",
                *(sa.column(c.name, c.type) for c in events.c),
                sa.column("prev_hash"),
                sa.column("hash"),
            )
            await conn.execute(
                sa.insert(old),
                [r | {"prev_hash": p, "hash": h} for r, (p, h) in zip(rows, links, strict=True)],
            )
            await run_on(conn, "upgrade", "head")
        async with db.engine.connect() as conn:
            leaves = (
                await conn.execute(sa.text(
                    "SELECT leaf_index, event_id, leaf_hash FROM audit_leaves ORDER BY leaf_index"
                ))
            ).all()  # fmt: skip
        assert [(r[0], r[1]) for r in leaves] == [(i, i + 1) for i in range(13)]
        assert [bytes(r[2]) for r in leaves] == [leaf_hash(event_leaf(r)) for r in rows]
        result = await verify_log(db, db.settings)
        assert (result.ok, result.tree_size) == (True, 13), result.problems
        import base64

        assert base64.b64decode(result.root_hash) == root_of([bytes(r[2]) for r in leaves])

        async with db.engine.begin() as conn:
            await run_on(conn, "downgrade", "0003")
        async with db.engine.connect() as conn:
            back = (
                await conn.execute(sa.select(chain.c.prev_hash, chain.c.hash).order_by(chain.c.id))
            ).all()
        assert [tuple(r) for r in back] == links
    finally:
        await db.dispose()


class _AsRow:
    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)
