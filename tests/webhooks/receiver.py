"""A real HTTP receiver for webhook tests: a threaded stdlib server on 127.0.0.1 that
checks each delivery's signature with the `standardwebhooks` library as it arrives."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: Any
    verified: bool
    at: float


@dataclass
class Receiver:
    secret: str | None = None
    status: int = 200
    delay: float = 0.0
    # Hold the first deliveries until this many are in flight at once (at most 5 s): shows
    # that several senders work at the same time, whatever the machine's speed.
    gather: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    most_at_once: int = 0
    _active: int = 0
    _gathered: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver._active += 1
                    receiver.most_at_once = max(receiver.most_at_once, receiver._active)
                    if receiver._active >= receiver.gather:
                        receiver._gathered.set()
                try:
                    if receiver.gather:
                        receiver._gathered.wait(timeout=5)
                    if receiver.delay:
                        time.sleep(receiver.delay)
                finally:
                    with receiver.lock:
                        receiver._active -= 1
                verified, payload = False, None
                if receiver.secret is not None:
                    try:
                        payload = Webhook(receiver.secret).verify(body, headers)
                        verified = True
                    except WebhookVerificationError:
                        payload = json.loads(body)
                with receiver.lock:
                    receiver.received.append(
                        Received(headers, body, payload, verified, time.monotonic())
                    )
                status = receiver.status
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.received]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
