"""The public's pages, outside /api/v1 and out of the OpenAPI document: /verify and
/directory/{force}, rendered on the server from the same public service functions as the
API (app.public.service), counted by the same public rate limit, in English or Welsh."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.auth.deps import ReadDatabase, Session
from app.errors import AppError, NotFound, RateLimited
from app.pagination import decode_cursor, encode_cursor
from app.public import service
from app.public.ratelimit import public_rate_limit
from app.web import pages
from app.web.i18n import Translator, choose

router = APIRouter(include_in_schema=False)

MAX_URL = 2048  # as the API's /public/verify
DIRECTORY_PAGE = 100
STATIC = Path(__file__).parent / "static"
Lang = Annotated[str | None, Query(max_length=10)]


def static_assets() -> Path:
    """The pages' CSS and JS, served by the app itself (no CDN)."""
    return STATIC


def _render(
    request: Request, lang: str, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    other = Translator(lang)("site.other_language_code")
    html = pages.render(
        template,
        lang=lang,
        other_language_url=f"{request.url.path}?{urlencode({**query, 'lang': other})}",
        **context,
    )
    headers = {"Content-Language": lang, "Vary": "Accept-Language"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _language(request: Request, lang: str | None) -> str:
    return choose(lang, request.headers.get("accept-language"))


async def _limited(request: Request, lang: str) -> HTMLResponse | None:
    """The 429 page when the client is over the public rate limit (the API's own limit)."""
    try:
        await public_rate_limit(request)
    except RateLimited as exc:
        t = Translator(lang)
        seconds = exc.headers["Retry-After"]
        response = _render(
            request, lang, "message.html", 429,
            title=t("limited.title"), body=t("limited.body", seconds=seconds),
        )  # fmt: skip
        response.headers["Retry-After"] = seconds
        return response
    return None


@router.get("/verify", response_class=HTMLResponse)
async def verify_page(
    request: Request,
    db: ReadDatabase,
    url: Annotated[str | None, Query()] = None,
    lang: Lang = None,
) -> HTMLResponse:
    """The public's check of a link: official (and whose), not official (and which
    official accounts it imitates), or not a social media address."""
    language = _language(request, lang)
    if (limited := await _limited(request, language)) is not None:
        return limited
    t = Translator(language)
    if url is None:
        return _render(request, language, "verify.html", outcome=None, error=None, url="")
    answer = await pages.verify(db, url.strip(), MAX_URL)
    if answer.error is not None:
        return _render(
            request, language, "verify.html", 400,
            outcome=None, error=t(answer.error), url=url,
        )  # fmt: skip
    return _render(request, language, "verify.html", error=None, url=url, **answer.context())


@router.get("/directory/{force}", response_class=HTMLResponse)
async def directory_page(
    request: Request,
    session: Session,
    force: str,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    lang: Lang = None,
) -> HTMLResponse:
    """The official accounts of one force, a page at a time."""
    language = _language(request, lang)
    if (limited := await _limited(request, language)) is not None:
        return limited
    t = Translator(language)
    try:
        items, next_key = await service.directory(
            session, force[:40], None, decode_cursor(cursor, 2), DIRECTORY_PAGE
        )
    except NotFound:
        return _render(
            request, language, "message.html", 404,
            title=t("notfound.title"), body=t("notfound.force", code=force[:40]),
        )  # fmt: skip
    except AppError:  # a cursor this service did not make
        return _render(
            request, language, "message.html", 400,
            title=t("badrequest.title"), body=t("badrequest.body"),
        )  # fmt: skip
    next_url = None
    if next_key:
        next_url = f"/directory/{force}?" + urlencode(
            {"cursor": encode_cursor(next_key), "lang": language}
        )
    return _render(
        request, language, "directory.html",
        force_name=items[0].force.name if items else force, items=items, next_url=next_url,
    )  # fmt: skip
