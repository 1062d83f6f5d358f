"""Health, readiness, metrics and the self-hosted API docs (the intranet has no CDN)."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
# A load balancer's probe must get an answer, not wait on a database that hangs.
READY_TIMEOUT = 2.0


async def _revision(request: Request) -> str | None:
    # Read straight from the version table: Alembic's migration context logs two lines
    # each time it is made, and probes call this every few seconds.
    async with request.app.state.db.engine.connect() as conn:
        return (await conn.execute(_VERSION)).scalar()


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    head = request.app.state.migration_head
    try:
        current = await asyncio.wait_for(_revision(request), READY_TIMEOUT)
    except Exception:  # any failure to reach the database in time means "not ready"
        body = problem(503, "not-ready", "Not ready", "The database is not reachable.")
        return problem_response(503, body, headers={"Retry-After": "5"})
    if current != head:
        body = problem(
            503,
            "not-ready",
            "Not ready",
            f"The database is at migration {current}, the service needs {head}.",
        )
        return problem_response(503, body)
    return JSONResponse({"status": "ready", "migration": current})


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
