"""The raw-SQL baseline for `GET /api/v1/accounts/{id}`: Starlette + asyncpg, no ORM.

The same work as the API's keyed read, with nothing else: verify the HS256 bearer token
with python-jose (same algorithms, audience, issuer, required claims and leeway), one
SELECT scoped to the caller's force, JSON out. The benchmark quotes the API's requests/s as
a share of this. Run by bench/run.py:

    BASELINE_DSN=postgresql://... REGISTRY_JWT_SECRET=... \
        python -m uvicorn bench.baseline:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from jose import JWTError, jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET = os.environ.get("REGISTRY_JWT_SECRET", "")
ISSUER = os.environ.get("REGISTRY_JWT_ISSUER", "registry")
AUDIENCE = os.environ.get("REGISTRY_JWT_AUDIENCE", "registry")
OPTIONS = {f"require_{c}": True for c in ("exp", "sub", "aud", "iss")} | {"leeway": 30}
NATIONAL = {"auditor", "admin"}
SQL = """
SELECT a.id, f.code AS force, a.platform, a.handle, a.url, a.platform_account_id,
       a.display_name, a.classification, a.status, a.is_anonymous, a.unit_id, a.owner_id,
       a.review_due_on, a.last_post_at, a.legal_hold, a.version, a.created_at, a.updated_at
FROM accounts a JOIN forces f ON f.id = a.force_id
WHERE a.id = $1 AND ($2::text IS NULL OR f.code = $2)
"""
_pool: asyncpg.Pool | None = None


def _problem(status: int, detail: str) -> Response:
    body = json.dumps({"status": status, "detail": detail})
    return Response(body, status_code=status, media_type="application/problem+json")


def _default(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


async def account(request: Request) -> Response:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return _problem(401, "A bearer token is required.")
    try:
        claims = jwt.decode(
            header[7:], SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
            options=OPTIONS,
        )  # fmt: skip
    except JWTError:
        return _problem(401, "Invalid token.")
    roles = set(claims.get("roles") or [])
    force = None if roles & NATIONAL else claims.get("force")
    try:
        account_id = uuid.UUID(request.path_params["account_id"])
    except ValueError:
        return _problem(422, "Not a UUID.")
    assert _pool is not None
    row = await _pool.fetchrow(SQL, account_id, force)
    if row is None:
        return _problem(404, "No such account.")
    body = json.dumps(dict(row), default=_default)
    return Response(body, media_type="application/json", headers={"ETag": f'"v{row["version"]}"'})


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    global _pool
    dsn = os.environ["BASELINE_DSN"].replace("postgresql+asyncpg://", "postgresql://")
    _pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
    try:
        yield
    finally:
        await _pool.close()


app = Starlette(routes=[Route("/api/v1/accounts/{account_id}", account)], lifespan=lifespan)
