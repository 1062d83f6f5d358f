from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.accounts.schemas import Platform
from app.auth.deps import ReadDatabase, Session
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, encode_cursor
from app.public import atom, service
from app.public.ratelimit import public_rate_limit
from app.public.schemas import PublicAccount, Verification
from app.schemas import errors

# No token on these routes; every request counts against its client address's limit.
router = APIRouter(prefix="/public", tags=["public"], dependencies=[Depends(public_rate_limit)])


@router.get(
    "/verify",
    response_model=Verification,
    response_model_exclude_none=True,
    responses=errors(422, 429),
    operation_id="verify_public_link",
)
async def verify(
    db: ReadDatabase, url: Annotated[str, Query(min_length=1, max_length=2048)]
) -> Verification:
    """Whether a link is an active official or corporate police account, and whose."""
    return await service.verify(db, url)


@router.get(
    "/accounts",
    response_model=Page[PublicAccount],
    responses=errors(404, 422, 429),
    operation_id="list_public_accounts",
)
async def directory(
    session: Session,
    force: Annotated[str | None, Query(max_length=40)] = None,
    platform: Platform | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PublicAccount]:
    """The public directory of active corporate and official accounts."""
    items, next_key = await service.directory(
        session, force, platform, decode_cursor(cursor, 2), limit
    )
    return Page[PublicAccount](
        items=items, next_cursor=encode_cursor(next_key) if next_key else None
    )


ATOM_TYPE = "application/atom+xml"


@router.get(
    "/feed.atom",
    response_class=Response,
    responses={
        200: {
            "content": {ATOM_TYPE: {"schema": {"type": "string"}}},
            "description": "An Atom 1.0 feed, newest entry first.",
        },
        **errors(404, 422, 429),
    },
    operation_id="directory_feed",
)
async def directory_feed(
    request: Request, session: Session, force: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    """The official directory's additions, changes and removals (closures, suspensions),
    newest first, for every force or one (`force`): the latest 50."""
    feed = await service.feed(session, force, service.FEED_ENTRIES)
    site = f"{request.base_url}directory/{force}" if force else f"{request.base_url}verify"
    body = atom.render(feed, str(request.url), site)
    return Response(body, media_type=f"{ATOM_TYPE}; charset=utf-8")
