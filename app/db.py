"""Engine, sessions and the one-transaction-per-request scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _configure_sqlite(engine: AsyncEngine) -> None:
    # Take over transaction control from the driver so writers can start with
    # BEGIN IMMEDIATE: SQLite then serialises writers up front instead of failing
    # a reader that tries to upgrade to a writer mid-transaction.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(settings: Settings) -> AsyncEngine:
    url = settings.async_database_url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 15}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=1800,
        # Errors and logs never carry bound values (personal data, tokens).
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": "registry"}},
    )


class Database:
    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.engine = engine or make_engine(settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.reader = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        writer_engine = (
            self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        )
        self.writer = async_sessionmaker(writer_engine, expire_on_commit=False, autoflush=False)

    def session(self, *, write: bool = True) -> AsyncSession:
        return (self.writer if write else self.reader)()

    async def dispose(self) -> None:
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent.

    Used with `Depends(get_session, scope="function")` so the commit (and the
    connection's return to the pool) happens as soon as the endpoint returns:
    a failed commit becomes an error response, never a 2xx followed by a loss.
    """
    db: Database = request.app.state.db
    session = db.session(write=request.method not in SAFE_METHODS)
    try:
        yield session
        if session.in_transaction():
            await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()
