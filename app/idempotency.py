"""Idempotency-Key on creates: a replay gets the first answer, a different body a 422."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.errors import IdempotencyKeyReused
from app.models import IdempotencyRecord

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes the create safe to retry: a replay returns the first answer.",
    ),
]


def fingerprint(path: str, body: Any) -> str:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", exclude_unset=True)
    raw = json.dumps([path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def created(model: BaseModel, location: str, status_code: int = 201) -> JSONResponse:
    return JSONResponse(
        model.model_dump(mode="json"), status_code=status_code, headers={"Location": location}
    )


async def idempotent(
    session: AsyncSession,
    principal: Principal,
    key: str | None,
    print_: str,
    create: Callable[[], Awaitable[tuple[BaseModel, str]]],
    status_code: int = 201,
) -> JSONResponse:
    """Run `create` once per (caller, key); `create` returns the object and its Location."""
    if key is None:
        model, location = await create()
        return created(model, location, status_code)
    caller = principal.caller_key
    if session.get_bind().dialect.name == "postgresql":
        # Two racing requests with one key: the second waits, then replays the first.
        await session.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(caller + key, 0)))
        )
    stored = await session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
        )
    )
    if stored is not None:
        if stored.fingerprint != print_:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request."
            )
        headers = {"Idempotent-Replayed": "true"}
        if stored.location:
            headers["Location"] = stored.location
        return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
    model, location = await create()
    body = model.model_dump(mode="json")
    session.add(
        IdempotencyRecord(
            caller=caller,
            key=key,
            fingerprint=print_,
            status_code=status_code,
            body=body,
            location=location,
        )
    )
    await session.flush()
    return JSONResponse(body, status_code=status_code, headers={"Location": location})
