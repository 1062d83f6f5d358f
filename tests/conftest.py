"""Test harness: a real database (SQLite file, or a fresh PostgreSQL database), built by
the migrations, emptied after every test; an in-process client; tokens for any role.

Set REGISTRY_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1/test to run the whole
suite on PostgreSQL: a new database is created beside the one named, and dropped after.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app import clock
from app.auth.tokens import mint_token
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrate import run_on
from app.models import Base

TEST_SECRET = "test-secret-" + "x" * 40
ROOT = Path(__file__).resolve().parent.parent


def _admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
    if not given.startswith("postgres"):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.db'}"
        return
    name = f"registry_test_{uuid.uuid4().hex[:12]}"
    admin = Settings(database_url=_admin_url(given)).async_database_url

    async def _ddl(statement: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
        await engine.dispose()

    import asyncio

    asyncio.run(_ddl(f'CREATE DATABASE "{name}"'))
    try:
        yield given.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_ddl(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=TEST_SECRET,
        log_level="WARNING",
        public_rate_limit=10_000,
    )


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    async with database.engine.begin() as conn:
        await run_on(conn, "upgrade", "head")
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, database=db)


async def _empty_all_tables(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for name in tables:
                await conn.execute(sa.text(f'DELETE FROM "{name}"'))
        else:
            # DELETE beats TRUNCATE on tables this small; replica mode lets the test
            # harness (only) past the audit table's append-only trigger.
            await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for name in tables:
                await conn.execute(sa.text(f'DELETE FROM "{name}"'))


@pytest.fixture(autouse=True)
async def _isolation(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    uses_db = "db" in request.fixturenames
    database = request.getfixturevalue("db") if uses_db else None
    application = request.getfixturevalue("app") if uses_db else None
    yield
    clock.freeze(None)
    if database is not None and application is not None:
        await _empty_all_tables(database)
        application.state.forces = type(application.state.forces)()
        application.state.verifier.clear_cache()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    s = db.session()
    try:
        yield s
    finally:
        await s.close()


class Tokens:
    """Bearer headers for any caller: `tokens.headers("comms_admin", force="staffs")`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def token(
        self,
        *roles: str,
        force: str | None = "staffs",
        sub: str | None = None,
        ttl: int = 3600,
        name: str | None = None,
    ) -> str:
        return mint_token(
            self.settings,
            sub=sub or f"{'-'.join(roles) or 'none'}@{force or 'national'}",
            roles=list(roles),
            force=force,
            ttl=ttl,
            name=name,
        )

    def headers(self, *roles: str, **kwargs: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, **kwargs)}"}  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> Tokens:
    return Tokens(settings)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(settings: Settings, **env: str) -> Iterator[str]:
    """A real uvicorn process serving the app on the test database; its base URL.
    `env`: more REGISTRY_* settings for that process."""
    port = _free_port()
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": settings.database_url,
        "REGISTRY_JWT_SECRET": settings.jwt_secret,
        "REGISTRY_LOG_LEVEL": "WARNING",
        "REGISTRY_PUBLIC_RATE_LIMIT": str(settings.public_rate_limit),
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a loaded machine can take this long to import the app
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the test server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings, db: Database) -> Iterator[str]:
    """The app served by a real uvicorn process on the test database (for real races)."""
    with serve(settings) as base:
        yield base


@pytest.fixture
async def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The OpenAPI document the app serves."""
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    found: dict[str, Any] = r.json()
    return found
