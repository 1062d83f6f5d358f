"""PostgreSQL: the service runs as a runtime role that owns nothing
(migrations/postgres-runtime-role.sql): it writes and sequences the audit log, and every way
of rewriting it is refused — UPDATE, DELETE, TRUNCATE, disabling the trigger, ALTER,
the replication role that skips triggers."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.audit import service as audit
from app.cli import runtime_role_sql
from app.db import Database
from app.main import create_app
from tests.audit.test_api import write_events
from tests.factories import make_force


@pytest.fixture
async def runtime_db(db, settings):  # type: ignore[no-untyped-def]
    if db.is_sqlite:
        yield None
        return
    role = f"registry_rt_{uuid.uuid4().hex[:8]}"
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER')
        for statement in runtime_role_sql(role):
            await conn.exec_driver_sql(statement)
    host, name = settings.database_url.split("@", 1)[1].rsplit("/", 1)
    runtime = Database(settings.model_copy(
        update={"database_url": f"postgresql://{role}@{host}/{name}"}
    ))  # fmt: skip
    try:
        yield runtime
    finally:
        await runtime.dispose()
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            await conn.exec_driver_sql(f'DROP ROLE "{role}"')


async def test_the_runtime_role_writes_the_log_and_cannot_rewrite_it(
    runtime_db, session, tokens, settings
):
    if runtime_db is None:
        return  # PostgreSQL roles
    await make_force(session, "staffs")
    await session.commit()
    app = create_app(settings, database=runtime_db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
    admin = tokens.headers("admin", force=None)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.patch(
            "/api/v1/forces/staffs", json={"dormancy_days": 30},
            headers={**admin, "If-Match": '"v1"'},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        await write_events(runtime_db, 2)
        assert await audit.sequence(runtime_db, full=True) == 3  # sequenced as runtime
        r = await client.get("/api/v1/audit/verify", headers=admin)
        assert (r.json()["ok"], r.json()["tree_size"]) == (True, 3)
    refused = {
        "UPDATE audit_events SET action = 'forged'": "permission denied",
        "DELETE FROM audit_events": "permission denied",
        "TRUNCATE audit_events CASCADE": "permission denied",
        "DELETE FROM audit_leaves": "permission denied",
        "TRUNCATE audit_leaves": "permission denied",
        "UPDATE audit_tree_nodes SET hash = hash": "permission denied",
        "DELETE FROM audit_checkpoints": "permission denied",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only": "must be owner",
        "ALTER TABLE audit_leaves DROP CONSTRAINT uq_audit_leaves_event_id": "must be owner",
        "DROP TRIGGER audit_events_no_truncate ON audit_events": "must be owner",
        "SET session_replication_role = replica": "permission denied",
        "CREATE TABLE shadow (id int)": "permission denied",
    }
    for statement, message in refused.items():
        async with runtime_db.engine.connect() as conn:
            with pytest.raises(DBAPIError, match=message):
                await conn.execute(sa.text(statement))
