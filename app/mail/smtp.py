"""Email through the force's SMTP relay (REGISTRY_SMTP_*): plain text and HTML parts
rendered from templates, sent with the standard library's smtplib in a worker thread so
the event loop never waits on the relay."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache
from typing import Any

import anyio.to_thread
import jinja2

from app.config import Settings

log = logging.getLogger(__name__)


class MailNotConfigured(RuntimeError):
    """No REGISTRY_SMTP_HOST: there is no relay to send through."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


FOOTER = (
    "Sent by the social media account registry. Sign in to the registry to act on this; "
    "this email carries no link that signs you in."
)


def settings_of(session: Any) -> Settings:
    """The settings of the database a job's session belongs to (else the environment's)."""
    from app.config import get_settings
    from app.db import DATABASE

    database = session.info.get(DATABASE)
    return database.settings if database is not None else get_settings()


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("app.mail", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, to: str, subject: str, **context: Any) -> Mail:
    """`template`.txt and `template`.html, rendered with `context` (HTML autoescaped)."""
    env = _environment()
    context = {"subject": subject, "footer": FOOTER, **context}
    return Mail(
        to=to,
        subject=subject,
        text=env.get_template(f"{template}.txt").render(**context),
        html=env.get_template(f"{template}.html").render(**context),
    )


def message(settings: Settings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


def _send_sync(settings: Settings, mails: list[Mail]) -> list[str]:
    """Send over one connection; the addresses the relay refused (others still go)."""
    if not settings.smtp_host:
        raise MailNotConfigured("REGISTRY_SMTP_HOST is not set: no email can be sent.")
    refused: list[str] = []
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as s:
        if settings.smtp_starttls:
            s.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            s.login(settings.smtp_user, settings.smtp_password or "")
        for mail in mails:
            try:
                s.send_message(message(settings, mail))
            except smtplib.SMTPRecipientsRefused:
                log.warning("the relay refused a recipient of %r", mail.subject)
                refused.append(mail.to)
    return refused


async def send(settings: Settings, mails: list[Mail]) -> list[str]:
    """Send `mails`; returns the recipients the relay refused. Connection and
    authentication failures raise (nothing counts as sent)."""
    if not mails:
        return []
    return await anyio.to_thread.run_sync(_send_sync, settings, mails)
