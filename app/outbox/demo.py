"""`registry demo`'s webhook: a receiver in the demo process that checks each signature
(with the `standardwebhooks` library), and a `staffs` webhook to it whose delivery log
(`GET /api/v1/webhooks/{id}/deliveries`) shows the demo's events delivered."""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa

from app.config import Settings
from app.db import Database
from app.models import OutboxEvent, Webhook

SECRET: dict[str, str] = {}


def start_receiver() -> str:
    """A local receiver: 204 for a correctly signed delivery, 401 otherwise."""
    from standardwebhooks.webhooks import Webhook as Verifier
    from standardwebhooks.webhooks import WebhookVerificationError

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                Verifier(SECRET["secret"]).verify(body, dict(self.headers.items()))
                status = 204
            except (WebhookVerificationError, KeyError):
                status = 401
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/registry-events"


async def add_webhook(settings: Settings, url: str) -> uuid.UUID:
    """The demo force's webhook, subscribed to everything since the demo's history began;
    its events are delivered once before the server starts."""
    from app.webhooks.service import new_secret
    from app.worker.runner import Worker

    db = Database(settings)
    try:
        async with db.session() as session:
            first = await session.scalar(sa.select(sa.func.min(OutboxEvent.created_at)))
            await session.execute(sa.delete(Webhook).where(Webhook.created_by == "demo"))
            hook = Webhook(
                force_code="staffs", url=url, event_types=["*"], secret=new_secret(),
                created_by="demo", created_at=first, updated_at=first,
            )  # fmt: skip
            session.add(hook)
            # Route the demo's history again, to this webhook.
            await session.execute(sa.update(OutboxEvent).values(routed_at=None))
            await session.commit()
            SECRET["secret"] = hook.secret
            hook_id = hook.id
        await Worker(db).run_once()
        return hook_id
    finally:
        await db.dispose()
