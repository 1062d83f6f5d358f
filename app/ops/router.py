"""Health, readiness, metrics and the self-hosted API docs (the intranet has no CDN)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app.errors import problem, problem_response
from app.migrate import current_revision

router = APIRouter(include_in_schema=False)


def swagger_assets() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    head = request.app.state.migration_head
    try:
        async with request.app.state.db.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
            current = await current_revision(conn)
    except Exception:  # any failure to reach the database means "not ready"
        body = problem(503, "not-ready", "Not ready", "The database is not reachable.")
        return problem_response(503, body)
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
async def metrics() -> Response:
    from app.ops.metrics import render

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
