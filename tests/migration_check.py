"""Migration check for CI: upgrade → downgrade → upgrade on a fresh database, then compare
the migrated schema with the models (nothing left to autogenerate).

    python -m tests.migration_check sqlite:///tmp/x.db
    python -m tests.migration_check postgresql://postgres@127.0.0.1/test   (uses a new db)
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.migrate import run_on
from app.models import Base


async def check(url: str) -> list[object]:
    engine = create_async_engine(url)
    try:
        for action, revision in (("upgrade", "head"), ("downgrade", "base"), ("upgrade", "head")):
            async with engine.begin() as conn:
                await run_on(conn, action, revision)
        async with engine.connect() as conn:

            def _diff(sync_conn: sa.Connection) -> list[object]:
                ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return list(compare_metadata(ctx, Base.metadata))

            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()


async def main(given: str) -> int:
    url = Settings(database_url=given).async_database_url
    admin = None
    if url.startswith("postgresql"):
        name = f"registry_migcheck_{uuid.uuid4().hex[:8]}"
        admin = create_async_engine(
            url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
        )
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = url.rsplit("/", 1)[0] + "/" + name
    try:
        diff = await check(url)
    finally:
        if admin is not None:
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
    if diff:
        print("models and migrations differ:")
        for entry in diff:
            print("  ", entry)
        return 1
    print(f"migrations OK on {url.split('://', 1)[0]}: up, down, up; models match")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
