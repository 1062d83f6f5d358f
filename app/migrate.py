"""Running Alembic migrations from the service, the CLI and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

ROOT = Path(__file__).resolve().parent.parent


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


async def _migrate(url: str, action: str, revision: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await run_on(conn, action, revision)
    finally:
        await engine.dispose()


def upgrade(async_url: str, revision: str = "head") -> None:
    asyncio.run(_migrate(async_url, "upgrade", revision))


def downgrade(async_url: str, revision: str) -> None:
    asyncio.run(_migrate(async_url, "downgrade", revision))


async def current_revision(connection: AsyncConnection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _current(sync_conn: object) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()  # type: ignore[arg-type]

    return await connection.run_sync(_current)
