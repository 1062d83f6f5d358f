"""Engine, sessions and the one-transaction-per-request scope."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from fastapi import Request
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, RowMapping
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
        # The WAL file is cut back to this size after each checkpoint instead of keeping
        # the largest size it ever reached.
        cursor.execute("PRAGMA journal_size_limit=67108864")
        cursor.close()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        # A connection that found its file read-only (or gone) keeps that view until it
        # is reopened: drop it, so writes work again as soon as the file is writable.
        text = str(context.original_exception).lower()
        if "readonly database" in text or "disk i/o error" in text or "unable to open" in text:
            context.is_disconnect = True

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _server_settings(settings: Settings, application_name: str) -> dict[str, str]:
    found = {"application_name": application_name}
    if settings.db_statement_timeout:
        found["statement_timeout"] = str(int(settings.db_statement_timeout * 1000))
    return found


def _command_timeout(settings: Settings) -> float | None:
    # The driver's own limit, past the server's: a server that hangs (or a network that
    # drops packets) cannot hold a request, though PostgreSQL cancels its statement first.
    return settings.db_statement_timeout + 5 if settings.db_statement_timeout else None


def make_engine(settings: Settings) -> AsyncEngine:
    url = settings.async_database_url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 15}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=1800,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=False,
        # Errors and logs never carry bound values (personal data, tokens).
        hide_parameters=True,
        connect_args={
            "server_settings": _server_settings(settings, "registry"),
            "timeout": settings.db_connect_timeout,
            "command_timeout": _command_timeout(settings),
        },
    )
    _invalidate_on_disconnect(engine)
    return engine


def _invalidate_on_disconnect(engine: AsyncEngine) -> None:
    # A connection that failed in a way that means "the server went away" is dropped
    # from the pool instead of being handed to the next request.
    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        if not context.is_disconnect and unavailable(context.original_exception):
            context.is_disconnect = True


# Losing the database answers 503 (with Retry-After), on either path: the driver's own
# connection errors, a server shutting down or out of resources (SQLSTATE classes 08
# connection, 53 insufficient resources such as a full disk, 57 operator intervention
# such as "terminating connection due to administrator command" or "the database system
# is shutting down", 58 system error), socket errors and time-outs.
_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
)
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57", "58")
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "disk i/o error",
    "database or disk is full",
    "attempt to write a readonly database",
    "unable to open database file",
)


def unavailable(exc: BaseException | None) -> bool:
    """Whether an error (or what caused it) means the database cannot be used now.

    Statement time-outs (57014, query_canceled) count: the request is answered 503
    rather than held. Constraint violations and bad SQL never do."""
    seen = 0
    while exc is not None and seen < 10:
        seen += 1
        if isinstance(exc, _UNAVAILABLE):
            return True
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or sqlstate == "25006"
        ):  # 25006: a read-only transaction (a standby, or a primary made read-only)
            return True
        if type(exc).__module__.startswith("sqlite3") and type(exc).__name__ in (
            "OperationalError",
            "DatabaseError",
        ):
            text = str(exc).lower()
            if any(marker in text for marker in _SQLITE_UNAVAILABLE):
                return True
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            return True
        nested = getattr(exc, "orig", None)
        exc = nested if isinstance(nested, BaseException) else (exc.__cause__ or exc.__context__)
    return False


async def _keep_session_state(_connection: Any) -> None:
    return None


# A positional parameter of a planned statement: (the caller's parameter name, or None
# for a value the statement carries itself; that value; the driver-side conversion).
_Slot = tuple[str | None, Any, Callable[[Any], Any] | None]


class _Plan:
    """A SELECT compiled once for asyncpg: its SQL text and how to fill each `$n`."""

    __slots__ = ("slots", "sql", "statement")

    def __init__(self, statement: sa.Select[*tuple[Any, ...]], dialect: sa.Dialect) -> None:
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
            # The sequence form is for tuple-typed binds, which only expanding IN-lists
            # (refused above) carry.
            processor = cast("Callable[[Any], Any] | None", processors.get(name))
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


class _ReadSession(sa.orm.Session):
    """A read-only request's session where a replica is set: the replica's connection or
    the primary's, chosen when its first statement runs."""

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any:
        db: Database = self.info[DATABASE]
        if db.reads_from_replica():
            assert db.replica is not None
            return db.replica.engine.sync_engine
        return db.engine.sync_engine


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

        from app.replica import RecentWriters, ReplicaState

        self.replica: ReplicaState | None = None
        self.writers: RecentWriters | None = None
        self._replica_pool: Any = None
        if settings.read_database_url and not self.is_sqlite:
            replica_settings = settings.for_replica()
            replica_engine = make_engine(replica_settings)
            self.replica = ReplicaState(replica_engine, settings.read_max_lag)
            # Reads pick their database at their first statement, not when the session
            # is made: a request's session can be made before its caller is known.
            self.reader = async_sessionmaker(
                expire_on_commit=False,
                autoflush=False,
                sync_session_class=_ReadSession,
                info={DATABASE: self},
            )
            self.writers = RecentWriters(
                settings.read_your_writes, settings.redis_url, settings.redis_prefix
            )

    def reads_from_replica(self) -> bool:
        """Whether this request's reads outside a write go to the replica now."""
        from app.replica import primary_reads_var

        return self.replica is not None and not primary_reads_var.get() and self.replica.usable

    def session(self, *, write: bool = True) -> AsyncSession:
        session = (self.writer if write else self.reader)()
        session.info[DATABASE] = self
        return session

    async def note_write(self) -> None:
        """The caller of this request has committed a write: their next reads see it."""
        from app.replica import caller_var

        caller = caller_var.get()
        if self.writers is not None and caller is not None:
            await self.writers.note(caller)

    async def must_read_primary(self, caller: str) -> bool:
        return self.writers is not None and await self.writers.wrote_recently(caller)

    async def fetch(
        self, statement: sa.Select[*tuple[Any, ...]], params: Mapping[str, Any]
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
                return by_name((await conn.execute(statement, dict(params))).mappings().all())
        plan = self._plans.get(id(statement))
        if plan is None:
            if len(self._plans) >= 1024:
                self._plans.clear()
            plan = self._plans[id(statement)] = _Plan(statement, self.engine.dialect)
        try:
            if self.reads_from_replica():
                pool = self._replica_pool or await self._open_replica_pool()
            else:
                pool = self._pool or await self._open_pool()
            async with pool.acquire(timeout=self.settings.db_pool_timeout) as conn:
                rows: Sequence[Mapping[str, Any]] = await conn.fetch(
                    plan.sql, *plan.arguments(params)
                )
                return rows
        except Exception as exc:
            if unavailable(exc):
                raise OperationalError(plan.sql[:40], None, exc) from exc
            raise

    async def fetch_sql(self, sql: str, *args: Any) -> Sequence[asyncpg.Record]:
        """PostgreSQL only: the rows of one hand-written statement (`$n` parameters), run
        on its own outside any transaction on the direct path's pool."""
        try:
            pool = self._pool or await self._open_pool()
            async with pool.acquire(timeout=self.settings.db_pool_timeout) as conn:
                rows: Sequence[asyncpg.Record] = await conn.fetch(sql, *args)
                return rows
        except Exception as exc:
            if unavailable(exc):
                raise OperationalError(sql[:40], None, exc) from exc
            raise

    async def _open_pool(self) -> Any:
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await self._new_pool(self.engine)
        return self._pool

    async def _open_replica_pool(self) -> Any:
        assert self.replica is not None
        async with self._pool_lock:
            if self._replica_pool is None:
                self._replica_pool = await self._new_pool(self.replica.engine)
        return self._replica_pool

    async def _new_pool(self, engine: AsyncEngine) -> Any:
        dsn = engine.url.set(drivername="postgresql")
        return await asyncpg.create_pool(
            dsn.render_as_string(hide_password=False),
            min_size=1,
            max_size=self.settings.db_pool_size,
            timeout=self.settings.db_connect_timeout,
            command_timeout=_command_timeout(self.settings),
            server_settings={
                **_server_settings(self.settings, "registry-reads"),
                # The direct path runs a few statements, each prepared once per connection
                # and executed thousands of times with other values. Left to choose,
                # PostgreSQL re-plans the account page at every execution (its generic
                # plan's estimate never beats the custom ones), and planning that
                # statement costs more than running it; the generic plan is the same plan.
                "plan_cache_mode": "force_generic_plan",
            },
            # Nothing here changes session state (no SET, LISTEN, advisory lock or
            # cursor), so a returned connection needs no RESET round trip.
            reset=_keep_session_state,
        )

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self.replica is not None:
            await self.replica.close()
            if self._replica_pool is not None:
                await self._replica_pool.close()
                self._replica_pool = None
            await self.replica.engine.dispose()
        if self.writers is not None:
            await self.writers.close()
        await self.engine.dispose()


async def fetch_rows(
    source: AsyncSession | Database,
    statement: sa.Select[*tuple[Any, ...]],
    params: Mapping[str, Any],
) -> Sequence[Mapping[str, Any]]:
    """The rows of a read as mappings, from a request's session (inside a write, to see
    its own changes) or from the database's direct read path."""
    if isinstance(source, AsyncSession):
        return by_name((await source.execute(statement, dict(params))).mappings().all())
    return await source.fetch(statement, params)


def rowcount(result: sa.Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched: its result is a CursorResult at runtime, which
    Session.execute's signature does not say."""
    return cast("CursorResult[*tuple[Any, ...]]", result).rowcount


def by_name(rows: Sequence[RowMapping]) -> Sequence[Mapping[str, Any]]:
    # RowMapping's keys are typed str | Column; every caller reads its rows by name.
    return cast("Sequence[Mapping[str, Any]]", rows)


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
    write = request.method not in SAFE_METHODS
    session = db.session(write=write)
    try:
        yield session
        if session.in_transaction():
            await session.commit()
            if write:
                await db.note_write()
        await _run_after(db, session)
    except BaseException:
        await session.rollback()
        await _run_after(db, session)
        raise
    finally:
        await session.close()
