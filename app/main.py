"""create_app(): routers, middleware, error handlers."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.staticfiles import StaticFiles

from app import __version__
from app.accounts import probes
from app.accounts.router import router as accounts_router
from app.activity.router import router as activity_router
from app.audit.router import public_router as audit_public_router
from app.audit.router import router as audit_router
from app.audit.service import Sequencer
from app.auth.deps import ForceCache
from app.auth.tokens import TokenVerifier
from app.campaigns.router import router as campaigns_router
from app.compliance.router import router as compliance_router
from app.config import Settings, get_settings
from app.db import Database
from app.errors import install_handlers
from app.forces.router import router as forces_router
from app.guidelines.router import router as guidelines_router
from app.holds.router import router as holds_router
from app.imports.router import router as imports_router
from app.lookalikes.router import router as lookalikes_router
from app.me.router import router as me_router
from app.migrate import head_revision
from app.objectives.router import router as objectives_router
from app.openapi import install as install_openapi
from app.openapi import operation_id
from app.ops import logs
from app.ops.middleware import RequestMiddleware
from app.ops.router import router as ops_router
from app.ops.router import swagger_assets
from app.people.router import router as people_router
from app.public.router import router as public_router
from app.reports.router import router as reports_router
from app.retention.router import router as retention_router
from app.scim.router import router as scim_credentials_router
from app.scim.server import create_scim_app
from app.units.router import router as units_router
from app.web.router import router as web_router
from app.web.router import static_assets
from app.webhooks.router import router as webhooks_router
from app.workflows.bulk_router import router as bulk_requests_router
from app.workflows.router import router as workflows_router

API_PREFIX = "/api/v1"

DESCRIPTION = """
The system of record for UK police forces' social media accounts: who runs each
account and who did at any past instant, whether it is approved and healthy,
whether its operators signed the current guidelines, and the workflows that bring
accounts into official oversight or close them — with a tamper-evident audit trail.

Every `/api/v1` route except `/api/v1/public/*` needs `Authorization: Bearer <JWT>`.
Errors are RFC 9457 `application/problem+json`.
"""

DOMAIN_ROUTERS = (
    me_router,
    forces_router,
    scim_credentials_router,
    units_router,
    people_router,
    retention_router,
    objectives_router,
    accounts_router,
    lookalikes_router,
    holds_router,
    guidelines_router,
    activity_router,
    compliance_router,
    bulk_requests_router,
    campaigns_router,
    workflows_router,
    audit_router,
    reports_router,
    imports_router,
    webhooks_router,
    public_router,
    audit_public_router,
)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_secret()
    logs.configure(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = database or Database(settings)
        # Puts committed audit events into the Merkle tree and signs due checkpoints.
        sequencer = Sequencer(app.state.db, settings)
        sequencer.start()
        # `registry serve --with-worker` and `registry demo`: the outbox worker in-process.
        worker_stop = asyncio.Event()
        worker_task = None
        if settings.run_worker:
            from app.worker.runner import Worker

            worker_task = asyncio.create_task(Worker(app.state.db).run(worker_stop))
        # Objects alive after start-up never die; keep them out of every later
        # GC pass (full collections over them caused 40 ms p99 spikes).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            worker_stop.set()
            if worker_task is not None:
                await worker_task
            await sequencer.stop()
            limiter = getattr(app.state, "public_limiter", None)
            if limiter is not None:
                await limiter.close()
            await probes.close(app.state.db)
            if database is None:
                await app.state.db.dispose()

    app = FastAPI(
        title="Social media account registry",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.forces = ForceCache()
    app.state.migration_head = head_revision()
    if database is not None:
        app.state.db = database

    install_handlers(app)
    install_openapi(app)
    for router in DOMAIN_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(ops_router)
    app.mount("/scim/v2", create_scim_app(app))
    app.mount("/static/swagger", StaticFiles(directory=swagger_assets()), name="swagger")
    app.include_router(web_router)  # the public's pages: /verify, /directory/{force}
    app.mount("/static/site", StaticFiles(directory=static_assets()), name="site")

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestMiddleware, body_timeout=settings.body_timeout)
    return app
