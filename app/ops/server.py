"""Serving the app with uvicorn: logs, a header deadline per connection, a bounded shutdown.

uvicorn times out idle keep-alive connections but not a client that opens a connection and
sends its request headers a byte at a time: each such connection is held for as long as the
client likes, and a few hundred of them keep a worker's connection slots. `HeaderDeadline`
gives every request `REGISTRY_HEADER_TIMEOUT` seconds from its first byte (or from the
connection, when nothing comes) to finish its headers; then the client gets a 408
problem+json and is disconnected. The body has its own deadline in the request middleware.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from app.config import Settings, get_settings
from app.errors import problem

try:  # uvicorn's fast parser when installed (uvicorn[standard]), else h11
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - depends on the installed extras
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]

log = logging.getLogger("app.server")


def _timeout_response() -> bytes:
    body = json.dumps(
        problem(
            408,
            "request-timeout",
            "Request timeout",
            "The request headers did not arrive in time.",
        )
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HeaderDeadline(_Base):
    """uvicorn's HTTP protocol, with a deadline for each request's headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = get_settings().header_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = False

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = False
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._waiting_for_headers():
            if not self._header_bytes:
                # The clock of a new request starts with its first byte.
                self._disarm()
                self._header_bytes = True
            self._arm()
        super().data_received(data)
        if not self._waiting_for_headers():
            self._disarm()
            self._header_bytes = False

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle keep-alive is uvicorn's own timeout; the next request's clock starts
        # with its first byte.
        self._disarm()
        self._header_bytes = False

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _expired(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._waiting_for_headers():
            return
        if self._header_bytes:
            log.info("request headers timed out", extra={"client": str(self.client)})
            self.transport.write(_timeout_response())
        self.transport.close()


PROTOCOL = f"{__name__}:HeaderDeadline"


def run(settings: Settings, host: str, port: int, workers: int) -> None:
    """uvicorn with every log line through the app's formatter and a bounded shutdown."""
    import os
    import tempfile

    import uvicorn

    from app.ops import logs

    logs.configure(settings.log_level, settings.log_format)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics to files here; a scrape adds them up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="registry-metrics-")
    if settings.metrics_port is not None:
        from app.ops.metrics import serve_port

        serve_port(host, settings.metrics_port, settings.metrics_token)
    log.info(
        "starting",
        extra={
            "database": settings.database_shown,
            "workers": workers,
            "listen": f"{host}:{port}",
            "metrics_port": settings.metrics_port,
        },
    )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=PROTOCOL,
        access_log=False,
        # uvicorn's own lines (start-up, errors, shutdown) go through the root logger,
        # so they are JSON like the rest when REGISTRY_LOG_FORMAT=json.
        log_config=None,
        proxy_headers=True,
        server_header=False,
        # Typed int, but only ever an asyncio.wait_for timeout: fractions of a second hold.
        timeout_graceful_shutdown=settings.shutdown_timeout,  # type: ignore[arg-type]
    )
