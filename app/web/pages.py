"""What the pages show, from the public service's answers; the templates' environment."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from app.accounts import handles
from app.db import Database
from app.errors import ValidationFailed
from app.public import service
from app.public.schemas import PublicAccount, Resemblance
from app.web.i18n import Translator

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, *, lang: str, **context: Any) -> str:
    context.setdefault("error", None)  # the page's title says "Error:" when set
    return environment().get_template(template).render(t=Translator(lang), lang=lang, **context)


@dataclass
class Answer:
    """One of: `error` (a catalogue key), an official `account`, or not official (with
    the handle and platform when the link names them, and the accounts it imitates)."""

    error: str | None = None
    account: PublicAccount | None = None
    platform: str | None = None
    handle: str | None = None
    resembles: list[Resemblance] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        if self.account is not None:
            return {"outcome": "official", "account": self.account}
        return {
            "outcome": "not_official",
            "platform": self.platform,
            "handle": self.handle,
            "resembles": self.resembles,
        }


async def verify(db: Database, url: str, max_length: int) -> Answer:
    if not url:
        return Answer(error="error.empty")
    if len(url) > max_length:
        return Answer(error="error.too_long")
    try:
        found = await service.verify(db, url)
    except ValidationFailed:
        return Answer(error="error.not_social")
    if found.verified and found.force is not None:
        return Answer(
            account=PublicAccount(
                force=found.force,
                platform=found.platform,
                handle=found.handle or "",
                url=found.url or "",
                display_name=found.display_name or "",
                classification=found.classification,
            )
        )
    platform, handle = _named(url)
    return Answer(platform=platform, handle=handle, resembles=found.resembles or [])


def _named(url: str) -> tuple[str | None, str | None]:
    """The platform and handle a link names, as the API's verify reads them."""
    try:
        parsed = handles.parse_url(url)
    except handles.HandleError:
        suspect = handles.suspect_handle(url)
        return (suspect[0], suspect[1]) if suspect else (None, None)
    return parsed.platform, parsed.handle
