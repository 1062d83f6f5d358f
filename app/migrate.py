"""Running Alembic migrations from the service, the CLI and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

ROOT = Path(__file__).resolve().parent.parent
# One key for every process that migrates a PostgreSQL database: several hosts starting
# at once take turns, and those after the first find the schema at head and change nothing.
MIGRATION_LOCK_KEY = 0x72656769_6D696772  # "regimigr"


def take_migration_lock(sync_conn: sa.Connection) -> None:
    """Wait for the database's migration lock, held until the migration's transaction ends
    (PostgreSQL runs DDL in transactions; commit, rollback or a lost connection release it).
    SQLite needs none: its writer lock already admits one migration at a time."""
    if sync_conn.dialect.name == "postgresql":
        sync_conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )


def alembic_config(connection: object | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def run_on(connection: AsyncConnection, action: str, revision: str) -> None:
    def _run(sync_conn: object) -> None:
        cfg = alembic_config(sync_conn)
        getattr(command, action)(cfg, revision)

    await connection.run_sync(_run)


async def _migrate(url: str, action: str, revision: str) -> tuple[str | None, str | None]:
    """Run `action` to `revision`; the database's revision before and after."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            # Taken here too (it stacks within one session) so that "before" is read by
            # the runner whose turn it is.
            await conn.run_sync(take_migration_lock)
            before = await current_revision(conn)
            await run_on(conn, action, revision)
            return before, await current_revision(conn)
    finally:
        await engine.dispose()


def upgrade(async_url: str, revision: str = "head") -> tuple[str | None, str | None]:
    return asyncio.run(_migrate(async_url, "upgrade", revision))


def downgrade(async_url: str, revision: str) -> tuple[str | None, str | None]:
    return asyncio.run(_migrate(async_url, "downgrade", revision))


async def current_revision(connection: AsyncConnection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _current(sync_conn: object) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()  # type: ignore[arg-type]

    return await connection.run_sync(_current)
