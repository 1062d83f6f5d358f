from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import get_settings
from app.migrate import take_migration_lock
from app.models import Base

target_metadata = Base.metadata


def _configure(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )


def run_sync(connection: object) -> None:
    take_migration_lock(connection)  # type: ignore[arg-type]
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = create_async_engine(get_settings().async_database_url)
    async with engine.begin() as conn:
        await conn.run_sync(run_sync)
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    run_sync(given)
else:
    asyncio.run(run_async())
