"""Engine, sessions and the one-transaction-per-request scope."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from fastapi import Request
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

log = logging.getLogger("app.db")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# session.info keys: the Database a session came from; work for after its transaction.
DATABASE = "database"
_AFTER = "after_transaction"


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


# Losing the database on the direct read path answers 503, as through SQLAlchemy.
_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
)


async def _keep_session_state(_connection: Any) -> None:
    return None


# A positional parameter of a planned statement: (the caller's parameter name, or None
# for a value the statement carries itself; that value; the driver-side conversion).
_Slot = tuple[str | None, Any, Callable[[Any], Any] | None]


class _Plan:
    """A SELECT compiled once for asyncpg: its SQL text and how to fill each `$n`."""

    __slots__ = ("slots", "sql", "statement")

    def __init__(self, statement: sa.Select[Any], dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        given = {name for name, bind in compiled.binds.items() if bind.required}
        expanding = sorted(name for name in given if compiled.binds[name].expanding)
        if expanding:
            raise TypeError(f"expanding parameters cannot be planned: {expanding}")
        # Fixed IN-lists are rendered into the text now; the caller's values get slots.
        state = compiled.construct_expanded_state({name: None for name in given})
        processors = compiled._bind_processors
        slots: list[_Slot] = []
        for name in state.positiontup or ():
            processor = processors.get(name)
            if name in given:
                slots.append((name, None, processor))
            else:
                value = state.parameters[name]
                slots.append((None, processor(value) if processor else value, None))
        self.sql = state.statement
        self.slots = tuple(slots)
        self.statement = statement  # keeps id(statement) from being reused while cached

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, value, processor in self.slots:
            if name is not None:
                value = params[name]
                if processor is not None and value is not None:
                    value = processor(value)
            out.append(value)
        return out


class Database:
    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.reader = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        writer_engine = (
            self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        )
        self.writer = async_sessionmaker(writer_engine, expire_on_commit=False, autoflush=False)

        self._plans: dict[int, _Plan] = {}
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()

    def session(self, *, write: bool = True) -> AsyncSession:
        session = (self.writer if write else self.reader)()
        session.info[DATABASE] = self
        return session

    async def fetch(
        self, statement: sa.Select[Any], params: Mapping[str, Any]
    ) -> Sequence[Mapping[str, Any]]:
        """The rows of one SELECT, as mappings, read outside any transaction.

        For hot reads answered by a single statement (a statement is its own consistent
        snapshot). On PostgreSQL the statement is compiled once and run straight on an
        asyncpg connection of a small pool of its own: no ORM session, no BEGIN/COMMIT,
        no per-execution compile-cache lookup or parameter processing — together most
        of the cost of a keyed read. Elsewhere it runs through SQLAlchemy Core.
        `statement` must be built once and reused (plans are cached by identity).
        """
        if self.is_sqlite:
            async with self.engine.connect() as conn:
                return (await conn.execute(statement, dict(params))).mappings().all()
        plan = self._plans.get(id(statement))
        if plan is None:
            if len(self._plans) >= 1024:
                self._plans.clear()
            plan = self._plans[id(statement)] = _Plan(statement, self.engine.dialect)
        pool = self._pool or await self._open_pool()
        try:
            async with pool.acquire() as conn:
                rows: Sequence[Mapping[str, Any]] = await conn.fetch(
                    plan.sql, *plan.arguments(params)
                )
                return rows
        except _UNAVAILABLE as exc:
            raise OperationalError(plan.sql[:40], None, exc) from exc

    async def fetch_sql(self, sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
        """PostgreSQL only: the rows of one hand-written statement (`$n` parameters), run
        on its own outside any transaction on the direct path's pool."""
        pool = self._pool or await self._open_pool()
        try:
            async with pool.acquire() as conn:
                rows: Sequence[Mapping[str, Any]] = await conn.fetch(sql, *args)
                return rows
        except _UNAVAILABLE as exc:
            raise OperationalError(sql[:40], None, exc) from exc

    async def _open_pool(self) -> Any:
        async with self._pool_lock:
            if self._pool is None:
                dsn = self.engine.url.set(drivername="postgresql")
                self._pool = await asyncpg.create_pool(
                    dsn.render_as_string(hide_password=False),
                    min_size=1,
                    max_size=self.settings.db_pool_size,
                    server_settings={"application_name": "registry-reads"},
                    # Nothing here changes session state (no SET, LISTEN, advisory lock or
                    # cursor), so a returned connection needs no RESET round trip.
                    reset=_keep_session_state,
                )
        return self._pool

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        await self.engine.dispose()


async def fetch_rows(
    source: AsyncSession | Database, statement: sa.Select[Any], params: Mapping[str, Any]
) -> Sequence[Mapping[str, Any]]:
    """The rows of a read as mappings, from a request's session (inside a write, to see
    its own changes) or from the database's direct read path."""
    if isinstance(source, AsyncSession):
        return (await source.execute(statement, dict(params))).mappings().all()
    return await source.fetch(statement, params)


def database_of(session: AsyncSession) -> Database | None:
    """The Database a session was opened from (None for a session made elsewhere)."""
    db: Database | None = session.info.get(DATABASE)
    return db


def after_transaction(session: AsyncSession, work: Callable[[Database], Awaitable[None]]) -> None:
    """Run `work(db)` once the request's transaction has ended, committed or rolled back,
    for a record that must persist although the change it belongs to failed (a refused
    duplicate's audit event). `work` opens its own short transactions. Only the request
    scope (`get_session`) runs it."""
    session.info.setdefault(_AFTER, []).append(work)


async def _run_after(db: Database, session: AsyncSession) -> None:
    for work in session.info.pop(_AFTER, []):
        try:
            await work(db)
        except Exception:  # the request's own outcome must stand
            log.exception("work after the request's transaction failed")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent.

    Used with `Depends(get_session, scope="function")` so the commit (and the
    connection's return to the pool) happens as soon as the endpoint returns:
    a failed commit becomes an error response, never a 2xx followed by a loss.
    Work queued with `after_transaction` runs after the commit or rollback (on SQLite a
    second writer could not start while this one holds the database).
    """
    db: Database = request.app.state.db
    session = db.session(write=request.method not in SAFE_METHODS)
    try:
        yield session
        if session.in_transaction():
            await session.commit()
        await _run_after(db, session)
    except BaseException:
        await session.rollback()
        await _run_after(db, session)
        raise
    finally:
        await session.close()
