from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.accounts import probes, service
from app.accounts.export import stream_csv
from app.accounts.repository import AccountFilters
from app.accounts.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    Classification,
    CustodiansRead,
    EditorAdd,
    Flag,
    HistoryRead,
    LookupRead,
    PersonAccountsRead,
    Platform,
    Status,
)
from app.auth.deps import (
    CurrentPrincipal,
    ReadDatabase,
    Session,
    require_roles,
    scope_force_id,
)
from app.auth.principal import Principal
from app.concurrency import etag
from app.errors import ValidationFailed
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, encode_cursor
from app.schemas import AUTH_ERRORS, Instant, errors

router = APIRouter(tags=["accounts"])

Creator = Annotated[Principal, Depends(require_roles("staff", "comms_admin", "admin"))]
Manager = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]
Investigator = Annotated[Principal, Depends(require_roles("comms_admin", "psd", "admin"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]
At = Annotated[
    Instant | None,
    Query(description="The instant to answer for (ISO 8601; no zone means UTC). Default: now."),
]

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The page."}
}


def _after_id(cursor: str | None) -> uuid.UUID | None:
    values = decode_cursor(cursor, 1)
    if values is None:
        return None
    try:
        return uuid.UUID(values[0] or "")
    except ValueError:
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from None


@router.get(
    "/accounts",
    response_model=Page[AccountRead],
    responses={**errors(*AUTH_ERRORS, 404), **CSV_RESPONSE},
)
async def list_accounts(
    request: Request,
    db: ReadDatabase,
    principal: CurrentPrincipal,
    platform: Platform | None = None,
    classification: Classification | None = None,
    status: Status | None = None,
    unit_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    flag: Flag | None = None,
    q: Annotated[str | None, Query(max_length=200, description="In handle or name.")] = None,
    force: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response | Page[AccountRead]:
    """Accounts the caller may see, filtered; `Accept: text/csv` streams every match.
    Operators the caller may not see are left out (`operators_redacted`), and `owner_id`
    finds only accounts whose owner the caller may see."""
    filters = AccountFilters(
        force_id=await scope_force_id(db, principal, force),
        platform=platform,
        classification=classification,
        status=status,
        unit_id=unit_id,
        owner_id=owner_id,
        flag=flag,
        q=q or None,
    )
    if "text/csv" in request.headers.get("accept", ""):
        return StreamingResponse(
            stream_csv(db, principal, filters),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="accounts.csv"'},
        )
    items, next_id = await service.list_page(db, principal, filters, _after_id(cursor), limit)
    next_cursor = encode_cursor([next_id]) if next_id else None
    return Page[AccountRead](items=items, next_cursor=next_cursor)


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountRead,
    responses=errors(*AUTH_ERRORS, 404, 409, 429) | probes.RESPONSES,
)
async def create_account(
    body: AccountCreate, session: Session, principal: Creator, key: IdempotencyKey = None
) -> Response:
    """Register an account (comms_admin, admin) or declare one you run (staff)."""

    async def create() -> tuple[AccountRead, str]:
        account = await service.create_account(session, principal, body)
        return await service.read(session, principal, account.id), f"/api/v1/accounts/{account.id}"

    return await idempotent(session, principal, key, fingerprint("accounts", body), create)


@router.get(
    "/accounts/{account_id}", response_model=AccountRead, responses=errors(*AUTH_ERRORS, 404)
)
async def get_account(
    account_id: uuid.UUID, db: ReadDatabase, principal: CurrentPrincipal, response: Response
) -> AccountRead:
    """One account, with its owner, editors (where the caller may see them) and flags."""
    account = await service.read(db, principal, account_id)
    response.headers["ETag"] = etag(account.version)
    return account


@router.patch(
    "/accounts/{account_id}",
    response_model=AccountRead,
    responses=errors(*AUTH_ERRORS, 404, 409, 412, 428, 429) | probes.RESPONSES,
)
async def update_account(
    account_id: uuid.UUID,
    body: AccountUpdate,
    session: Session,
    principal: Manager,
    response: Response,
    if_match: IfMatch = None,
) -> AccountRead:
    """Edit descriptive fields (If-Match required); status, classification and owner change
    only through requests."""
    await service.update_account(session, principal, account_id, body, if_match)
    account = await service.read(session, principal, account_id)
    response.headers["ETag"] = etag(account.version)
    return account


@router.post(
    "/accounts/{account_id}/editors",
    status_code=201,
    response_model=AccountRead,
    responses=errors(*AUTH_ERRORS, 404, 409),
)
async def add_editor(
    account_id: uuid.UUID,
    body: EditorAdd,
    session: Session,
    principal: Manager,
    key: IdempotencyKey = None,
) -> Response:
    """Make an active person who signed the current guidelines an editor of the account."""

    async def create() -> tuple[AccountRead, str]:
        await service.add_editor(session, principal, account_id, body.person_id)
        location = f"/api/v1/accounts/{account_id}/editors/{body.person_id}"
        return await service.read(session, principal, account_id), location

    print_ = fingerprint(f"accounts/{account_id}/editors", body)
    return await idempotent(session, principal, key, print_, create)


@router.delete(
    "/accounts/{account_id}/editors/{person_id}",
    response_model=AccountRead,
    responses=errors(*AUTH_ERRORS, 404),
)
async def remove_editor(
    account_id: uuid.UUID, person_id: uuid.UUID, session: Session, principal: Manager
) -> AccountRead:
    """End a person's editor role on the account (the past interval stays on record)."""
    await service.remove_editor(session, principal, account_id, person_id)
    return await service.read(session, principal, account_id)


@router.get(
    "/accounts/{account_id}/custodians",
    response_model=CustodiansRead,
    responses=errors(*AUTH_ERRORS, 404),
)
async def get_custodians(
    account_id: uuid.UUID, session: Session, principal: Investigator, at: At = None
) -> CustodiansRead:
    """Owner and editors of the account at instant `at` (default now); none where the
    caller may not see the account's operators."""
    return await service.custodians(session, principal, account_id, at)


@router.get(
    "/accounts/{account_id}/history",
    response_model=HistoryRead,
    responses=errors(*AUTH_ERRORS, 404),
)
async def get_history(
    account_id: uuid.UUID, session: Session, principal: Investigator
) -> HistoryRead:
    """Ownership and status timeline of the account, oldest first (without people where
    the caller may not see the account's operators)."""
    return await service.history(session, principal, account_id)


@router.get(
    "/people/{person_id}/accounts",
    response_model=PersonAccountsRead,
    responses=errors(*AUTH_ERRORS, 404),
)
async def get_person_accounts(
    person_id: uuid.UUID, session: Session, principal: Investigator, at: At = None
) -> PersonAccountsRead:
    """The accounts a person owned or edited at instant `at` (default now); the person
    must be one whose record the caller reads."""
    return await service.person_accounts(session, principal, person_id, at)


@router.get("/lookup", response_model=LookupRead, responses=errors(*AUTH_ERRORS))
async def lookup(
    db: ReadDatabase,
    principal: Investigator,
    url: Annotated[str | None, Query(max_length=2048)] = None,
    platform: Annotated[str | None, Query(max_length=40)] = None,
    handle: Annotated[str | None, Query(max_length=200)] = None,
) -> LookupRead:
    """Every record in your scope of the account a link (or platform and handle) names,
    decommissioned ones included, newest first."""
    return LookupRead(items=await service.lookup(db, principal, url, platform, handle))
