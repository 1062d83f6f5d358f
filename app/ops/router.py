"""Health, readiness, metrics and the self-hosted API docs (the intranet has no CDN)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app.errors import problem, problem_response

router = APIRouter(include_in_schema=False)


def swagger_assets() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


_VERSION = sa.text("SELECT version_num FROM alembic_version")
_PG_STATE = sa.text(
    "SELECT version_num, pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'"
    " FROM alembic_version"
)
# A load balancer's probe must get an answer, not wait on a database that hangs.
READY_TIMEOUT = 2.0


def _not_ready(detail: str) -> Response:
    body = problem(503, "not-ready", "Not ready", detail)
    return problem_response(503, body, headers={"Retry-After": "5"})


async def _state(request: Request) -> tuple[str | None, bool]:
    """The migration the database is at, and whether this service can write to it.
    Read straight from the version table: Alembic's migration context logs two lines
    each time it is made, and probes call this every few seconds."""
    db = request.app.state.db
    if db.is_sqlite:
        path = db.engine.url.database
        if path and path != ":memory:" and not _writable(Path(path)):
            return None, True
    async with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            row = (await conn.execute(_PG_STATE)).one()
            return row[0], bool(row[1])
        return (await conn.execute(_VERSION)).scalar(), False


def _writable(path: Path) -> bool:
    # SQLite writes the file and, beside it, its WAL and shared-memory files.
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so it is not logged as never retrieved


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    head = request.app.state.migration_head
    probe = asyncio.ensure_future(_state(request))
    # Not wait_for: cancelling a connection stuck on a hung server waits on the server
    # too. The probe is cancelled and left to unwind on its own.
    done, _ = await asyncio.wait({probe}, timeout=READY_TIMEOUT)
    if not done:
        probe.cancel()
        probe.add_done_callback(_consume)
        return _not_ready("The database did not answer within 2 seconds.")
    try:
        current, read_only = probe.result()
    except Exception:  # any failure to reach the database means "not ready"
        return _not_ready("The database is not reachable.")
    if read_only:
        return _not_ready("The database cannot be written to (read-only).")
    if current != head:
        return _not_ready(f"The database is at migration {current}, the service needs {head}.")
    found: dict[str, object] = {"status": "ready", "migration": current}
    replica = request.app.state.db.replica
    if replica is not None:
        # Ready either way: reads fall back to the primary while the replica is away.
        found["replica"] = replica.describe()
    return JSONResponse(found)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    from app.ops.metrics import authorised, render

    settings = request.app.state.settings
    if settings.metrics_port is not None:  # served on its own port only
        return problem_response(404, problem(404, "not-found", "Not found", "No such route."))
    if not authorised(request.headers.get("authorization"), settings.metrics_token):
        body = problem(
            401, "unauthorized", "Authentication required", "A bearer token is required."
        )
        return problem_response(401, body, headers={"WWW-Authenticate": "Bearer"})
    payload, content_type = render()
    return Response(payload, media_type=content_type)


@router.get("/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Social media account registry — API",
        swagger_js_url="/static/swagger/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger/swagger-ui.css",
        swagger_favicon_url="/static/swagger/favicon-32x32.png",
    )
