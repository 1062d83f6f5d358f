"""Message catalogues (one JSON file per language in messages/) and the choice of language:
`?lang=` when it names one we have, else the best of Accept-Language, else English."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "cy")
DEFAULT = "en"
MESSAGES = Path(__file__).parent / "messages"


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    return dict(json.loads((MESSAGES / f"{lang}.json").read_text(encoding="utf-8")))


def _accepted(header: str) -> list[str]:
    """The header's primary language subtags, most wanted first (q=0 means never)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, position, tag.split("-")[0].strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose(query_lang: str | None, accept_language: str | None) -> str:
    if query_lang in LANGUAGES:
        return query_lang
    for tag in _accepted(accept_language or ""):
        if tag in LANGUAGES:
            return tag
    return DEFAULT


class Translator:
    """`t(KEY, name=value)`: the message in this language with its fields filled in."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.messages = catalogue(lang)

    def __call__(self, key: str, **fields: Any) -> str:
        text = self.messages[key]  # a missing key is a bug: the catalogue test finds it
        return text.format(**fields) if fields else text
