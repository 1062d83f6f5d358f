"""A real SMTP server (aiosmtpd) in process, and the test database pointed at it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def take(self) -> list[EmailMessage]:
        taken, self.messages = self.messages, []
        return taken


def text_of(msg: EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None, "both parts are sent"
    return plain.get_content(), html.get_content()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox(db: Any) -> Iterator[Inbox]:
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    saved = (db.settings.smtp_host, db.settings.smtp_port, db.settings.mail_from)
    db.settings.smtp_host, db.settings.smtp_port = "127.0.0.1", port
    db.settings.mail_from = "registry@staffs.police.uk"
    try:
        yield box
    finally:
        controller.stop()
        db.settings.smtp_host, db.settings.smtp_port, db.settings.mail_from = saved
