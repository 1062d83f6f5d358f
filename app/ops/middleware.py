"""One pure-ASGI middleware for every request: request id, body limits, metrics, access log."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.context import request_id_var
from app.errors import problem
from app.ops.metrics import observe

log = logging.getLogger("app.access")

API_PREFIX = "/api/v1"
MAX_BODY = 1 << 20
MAX_IMPORT_BODY = 20 << 20
# All request headers together. Servers cap them too (uvicorn/h11: 16 KiB), but the
# app must not depend on which server runs it; a bearer token is at most 8 KiB.
MAX_HEADER_BYTES = 32 << 10
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _limit_for(path: str) -> int:
    return MAX_IMPORT_BODY if path.startswith("/api/v1/imports/") else MAX_BODY


def _refuse_request_line_or_headers(scope: Scope) -> dict[str, Any] | None:
    """A problem for requests no route should ever see, else None.

    NUL cannot be stored in (or compared with) PostgreSQL text and is never part of an
    id, code, filter or cursor of this API; refusing it here gives the same answer on
    every database instead of a driver error deep in a query.
    """
    size = sum(len(name) + len(value) for name, value in scope["headers"])
    if size > MAX_HEADER_BYTES:
        detail = f"The request headers are over {MAX_HEADER_BYTES >> 10} KiB."
        return problem(431, "headers-too-large", "Request header fields too large", detail)
    query = scope.get("query_string", b"")
    in_query = b"\x00" in query or b"%00" in query
    if in_query or "\x00" in scope["path"]:
        return problem(
            422,
            "validation-failed",
            "Invalid input",
            "NUL characters are not allowed in the path or query string.",
            errors=[{"loc": ["query" if in_query else "path"], "msg": "contains NUL"}],
        )
    return None


class RequestMiddleware:
    def __init__(self, app: ASGIApp, body_timeout: float = 60.0) -> None:
        self.app = app
        # Seconds from the first read of the body to its last byte: a client trickling
        # a body holds a connection and a request slot, and kept a shutdown waiting.
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        status = 500
        limit = _limit_for(scope["path"])

        scope["request_id"] = rid
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            refusal = _refuse_request_line_or_headers(scope)
            if refusal is not None:
                await self._send_problem(send_wrapper, refusal["status"], refusal)
                return
            declared = headers.get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                await self._reject_too_large(send_wrapper, limit)
                return
            received = 0
            deadline: float | None = None
            body_done = False

            async def receive_limited() -> Message:
                nonlocal received, deadline, body_done
                if body_done:
                    # Past the body, receive() waits for the client to go away (streamed
                    # responses listen for it): no deadline there.
                    return await receive()
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.body_timeout
                try:
                    message = await asyncio.wait_for(receive(), max(deadline - now, 0.0))
                except TimeoutError:
                    # The rest of the body is not awaited: the connection is closed.
                    raise HTTPException(
                        408,
                        f"The body did not arrive within {self.body_timeout:g} seconds.",
                        headers={"Connection": "close"},
                    ) from None
                if message["type"] != "http.request" or not message.get("more_body", False):
                    body_done = True
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise HTTPException(413, f"The body is over {limit // (1 << 20)} MiB.")
                return message

            try:
                await self.app(scope, receive_limited, send_wrapper)
            except Exception as exc:
                from app.db import unavailable
                from app.errors import unavailable_response

                if unavailable(exc) and not started:
                    await unavailable_response(exc)(scope, receive, send_wrapper)
                    return
                # Unexpected: log it with the request id, answer without internals.
                log.exception("unhandled error", extra={"path": scope["path"]})
                if started:
                    raise
                await self._send_problem(
                    send_wrapper,
                    500,
                    problem(
                        500,
                        "internal-error",
                        "Internal server error",
                        f"Something went wrong on our side. Quote request id {rid}.",
                    ),
                )
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            # Routes of included routers carry their own path, without the API prefix.
            if scope["path"].startswith(API_PREFIX) and not template.startswith(API_PREFIX):
                template = API_PREFIX + template
            observe(scope["method"], template, status, elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "%s %s %s",
                    scope["method"],
                    template,
                    status,
                    extra={"status": status, "ms": round(elapsed * 1000, 2)},
                )
            request_id_var.reset(token)

    @classmethod
    async def _reject_too_large(cls, send: Any, limit: int) -> None:
        body = problem(
            413, "payload-too-large", "Payload too large", f"The body is over {limit >> 20} MiB."
        )
        await cls._send_problem(send, 413, body)

    @staticmethod
    async def _send_problem(send: Any, status: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
