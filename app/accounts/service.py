"""Account rules: registration, reading, descriptive edits, lists and look-ups.

Who runs an account over time (owner, editors, history) is in `app.accounts.custody`; its
entry points for other domains are re-exported here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.accounts import handles, probes, repository
from app.accounts.custody import (
    add_editor,
    change_owner,
    custodians,
    end_custodianships,
    end_editorships_of_person,
    get_visible,
    history,
    person_accounts,
    remove_editor,
)
from app.accounts.errors import AccountNotFound, DuplicateAccount
from app.accounts.repository import AccountFilters
from app.accounts.schemas import (
    AccountCreate,
    AccountFilter,
    AccountRead,
    AccountUpdate,
    Operator,
)
from app.audit import service as audit
from app.auth.deps import require_person, scope_force_id, target_force_id
from app.auth.principal import Principal
from app.compliance import flags
from app.concurrency import check_if_match
from app.errors import Forbidden, ValidationFailed
from app.models import Account, Custodianship
from app.models.enums import RELEASED_STATUSES
from app.outbox import service as outbox

if TYPE_CHECKING:
    from app.db import Database

__all__ = [
    "add_editor",
    "change_owner",
    "create_account",
    "custodians",
    "end_custodianships",
    "end_editorships_of_person",
    "get_visible",
    "history",
    "list_page",
    "live_holders",
    "lookup",
    "operators_shown",
    "person_accounts",
    "read",
    "remove_editor",
    "update_account",
]

MANAGER_ROLES = ("comms_admin", "admin")
# Fields of the account row that an audit event and a PATCH compare.
DESCRIPTIVE = ("display_name", "url", "handle", "platform_account_id", "unit_id", "is_anonymous")
NOT_NULL_ON_PATCH = ("display_name", "url", "objectives", "is_anonymous")


def resolve_handle(
    url: str | None, platform: str | None, handle: str | None, where: str = "body"
) -> handles.ParsedAccount:
    """The account a URL or platform + handle names; a 422 naming the field at fault."""
    try:
        return handles.resolve(url=url, platform=platform, handle=handle)
    except handles.HandleError as err:
        raise ValidationFailed(
            err.message, errors=[{"loc": [where, err.field], "msg": err.message}]
        ) from None


def _invalid(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed(msg, errors=[{"loc": ["body", field], "msg": msg}])


def _is_live_duplicate(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return "uq_accounts_live_platform_handle" in text or "accounts.platform" in text


def _duplicate(platform: str, handle: str, visible_id: uuid.UUID | None) -> DuplicateAccount:
    """The 409 says no more than "already registered" (no force, classification, status or
    id), except that an account the caller may see is named by its id."""
    named = {"existing_account_id": str(visible_id)} if visible_id is not None else {}
    return DuplicateAccount(f"{platform} handle {handle!r} is already registered.", **named)


async def _ensure_free(
    session: AsyncSession,
    principal: Principal,
    platform: str,
    handle: str,
    via: str,
    exclude_id: uuid.UUID | None = None,
) -> probes.Allowance:
    """409 if a live record holds the handle. Refusing one the caller cannot see is a
    probe (`app.accounts.probes`): counted, audited, and 429 once the caller's allowance
    is spent, whether the handle is free or not."""
    holder = await repository.live_duplicate(session, principal, platform, handle, exclude_id)
    if holder is not None and holder[1]:
        raise _duplicate(platform, handle, holder[0])  # in view already: discloses nothing
    allowance = await probes.reserve(session, principal)
    if holder is None:
        await probes.refused(session, allowance, [], via)  # the reservation goes back
        return allowance
    await probes.refused(session, allowance, [(platform, handle)], via, account_id=exclude_id)
    raise _duplicate(platform, handle, None)


async def _raced(
    session: AsyncSession,
    principal: Principal,
    allowance: probes.Allowance | None,
    account: Account,
    via: str,
    exclude_id: uuid.UUID | None = None,
) -> DuplicateAccount:
    """The 409 for a registration that took the handle between our check and our insert
    (the partial unique index refused ours), counted like any other refusal."""
    platform, handle = account.platform, account.handle
    holder = await repository.live_duplicate(session, principal, platform, handle, exclude_id)
    if holder is not None and holder[1]:
        return _duplicate(platform, handle, holder[0])
    if allowance is None:
        allowance = await probes.reserve(session, principal)
        allowance.held = 0
    await probes.refused(session, allowance, [(platform, handle)], via, account_id=exclude_id)
    return _duplicate(platform, handle, None)


# --- reading -------------------------------------------------------------------------


def to_read(principal: Principal, row: Mapping[str, Any]) -> AccountRead:
    """A row of `repository.account_rows` and friends, as the caller may see it: the
    statement has already emptied the operator columns the caller may not see
    (`app.auth.redaction`)."""
    owner = None
    if row["owner_id"] is not None:
        owner = Operator(id=row["owner_id"], name=row["owner_name"])
    return AccountRead(
        id=row["id"],
        force=row["force"],
        platform=row["platform"],
        handle=row["handle"],
        url=row["url"],
        platform_account_id=row["platform_account_id"],
        display_name=row["display_name"],
        classification=row["classification"],
        status=row["status"],
        is_anonymous=row["is_anonymous"],
        unit_id=row["unit_id"],
        objectives=repository.objectives_of(row),
        owner=owner,
        editors=[Operator(id=i, name=n) for i, n in repository.editors_of(row)],
        operators_redacted=not row["operators_shown"],
        review_due_on=row["review_due_on"],
        last_post_at=row["last_post_at"],
        flags=flags.flags_of(row),
        legal_hold=row["legal_hold"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def read(
    source: AsyncSession | Database, principal: Principal, account_id: uuid.UUID
) -> AccountRead:
    """One account as the caller may see it, in one statement. `source` is the request's
    session after a write (to see it), the database for a plain GET."""
    row = await repository.account_row(source, principal, account_id, clock.now())
    if row is None:
        raise AccountNotFound(f"No account {account_id} in your scope.")
    return to_read(principal, row)


async def operators_shown(
    session: AsyncSession, principal: Principal, account_ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Of these accounts, those whose operators the caller may see (`app.auth.redaction`),
    for views of other domains that mention them (requests)."""
    return await repository.operators_shown(session, principal, account_ids)


async def list_page(
    source: AsyncSession | Database,
    principal: Principal,
    filters: AccountFilters,
    after_id: uuid.UUID | None,
    limit: int,
) -> tuple[list[AccountRead], uuid.UUID | None]:
    """A page of visible accounts in id order and the id to continue after (None: last page).
    One statement whatever the page size."""
    rows = await repository.account_rows(
        source, principal, filters, after_id, limit + 1, clock.now()
    )
    next_id = rows[limit - 1]["id"] if len(rows) > limit else None
    return [to_read(principal, row) for row in rows[:limit]], next_id


async def export_rows(
    source: AsyncSession | Database,
    principal: Principal,
    filters: AccountFilters,
    batch: int = 500,
) -> AsyncIterator[Mapping[str, Any]]:
    """Every visible account matching `filters` (operators redacted in the statement),
    fetched batch by batch through the keyset."""
    now = clock.now()
    after_id = None
    while True:
        rows = await repository.account_rows(source, principal, filters, after_id, batch, now)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after_id = rows[-1]["id"]


async def filters_of(
    session: AsyncSession, principal: Principal, given: AccountFilter
) -> AccountFilters:
    """A filter object (the query parameters of `GET /accounts`) in the caller's scope."""
    return AccountFilters(
        force_id=await scope_force_id(session, principal, given.force),
        platform=given.platform,
        classification=given.classification,
        status=given.status,
        unit_id=given.unit_id,
        owner_id=given.owner_id,
        flag=given.flag,
        q=given.q or None,
    )


def matching(
    principal: Principal, filters: AccountFilters, *columns: Any
) -> tuple[Any, dict[str, Any]]:
    """The statement (and its parameters) selecting `columns` of every account the list
    would give for `filters`, now: one home for "the accounts this filter means"."""
    return repository.matching(principal, filters, clock.now(), *columns)


async def lookup(
    source: AsyncSession | Database,
    principal: Principal,
    url: str | None,
    platform: str | None,
    handle: str | None,
) -> list[AccountRead]:
    """Every record of the account a link or handle names, newest first."""
    parsed = resolve_handle(url, platform, handle, where="query")
    rows = await repository.lookup_rows(
        source, principal, parsed.platform, parsed.handle, clock.now()
    )
    return [to_read(principal, row) for row in rows]


# --- registration -------------------------------------------------------------------


async def live_holders(
    session: AsyncSession,
    principal: Principal | None,
    pairs: Sequence[tuple[str, str]],
    chunk: int = 1000,
) -> dict[tuple[str, str], bool]:
    """Which (platform, handle) pairs a live record holds, in any force, each with whether
    the caller may see that record (always, for `principal` None: the system)."""
    by_platform: dict[str, set[str]] = {}
    for platform, handle in pairs:
        by_platform.setdefault(platform, set()).add(handle)
    taken: dict[tuple[str, str], bool] = {}
    for platform, wanted in by_platform.items():
        ordered = sorted(wanted)
        for start in range(0, len(ordered), chunk):
            found = await repository.live_holders(
                session, principal, platform, ordered[start : start + chunk]
            )
            taken.update({(platform, h): visible for h, (_id, visible) in found.items()})
    return taken


async def _check_links(
    session: AsyncSession,
    force_id: uuid.UUID,
    unit_id: uuid.UUID | None,
    objectives: Sequence[str] | None,
) -> list[uuid.UUID]:
    """Validate a unit and objective codes of the force; the objectives' ids."""
    if unit_id is not None and not await repository.unit_exists(session, force_id, unit_id):
        raise _invalid("unit_id", "No unit with this id in the account's force.")
    if not objectives:
        return []
    codes = list(dict.fromkeys(objectives))
    found = await repository.active_objective_ids(session, force_id, codes)
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise _invalid("objectives", f"Unknown or inactive objective codes: {', '.join(unknown)}.")
    return [found[c] for c in codes]


async def _insert(
    session: AsyncSession,
    principal: Principal,
    account: Account,
    allowance: probes.Allowance | None,
) -> None:
    """Add the account in a savepoint: a registration racing this one past the duplicate
    check trips the partial unique index, and becomes the same clean 409."""
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        if _is_live_duplicate(exc):
            raise await _raced(session, principal, allowance, account, "create") from None
        raise


async def create_account(
    session: AsyncSession, principal: Principal, body: AccountCreate
) -> Account:
    """Register an account (comms_admin/admin, any status) or declare one (staff: pending
    approval, the caller as owner). The single entry point for new accounts."""
    force_id = await target_force_id(session, principal, body.force)
    parsed = resolve_handle(body.url, body.platform, body.handle)
    if principal.has(*MANAGER_ROLES):
        status = body.status or "active"
        owner_id = body.owner_id
        if (
            owner_id is not None
            and await repository.active_person(session, force_id, owner_id) is None
        ):
            raise _invalid("owner_id", "No active person with this id in the account's force.")
    else:
        owner_id = await require_person(session, principal)
        if body.owner_id not in (None, owner_id):
            raise Forbidden("Staff may declare only accounts they run: owner_id must be you.")
        if body.status not in (None, "pending_approval"):
            raise Forbidden("A staff declaration is always created pending approval.")
        status = "pending_approval"
    objective_ids = await _check_links(session, force_id, body.unit_id, body.objectives)
    allowance = None
    if status not in RELEASED_STATUSES:
        allowance = await _ensure_free(session, principal, parsed.platform, parsed.handle, "create")

    now = clock.now()
    review_due_on = None
    if status == "active":
        interval = await repository.force_review_interval(session, force_id)
        review_due_on = clock.today() + timedelta(days=interval)
    account = Account(
        id=uuid.uuid4(),
        force_id=force_id,
        platform=parsed.platform,
        handle=parsed.handle,
        url=parsed.url or (body.url or ""),
        platform_account_id=body.platform_account_id,
        display_name=body.display_name,
        classification=body.classification,
        status=status,
        is_anonymous=body.is_anonymous,
        unit_id=body.unit_id,
        owner_id=owner_id,
        review_due_on=review_due_on,
        created_at=now,
        updated_at=now,
    )
    await _insert(session, principal, account, allowance)
    if owner_id is not None:
        session.add(
            Custodianship(
                force_id=force_id,
                account_id=account.id,
                person_id=owner_id,
                role="owner",
                valid_from=now,
            )
        )
    await repository.replace_objectives(session, account.id, objective_ids)
    await session.flush()
    created = {
        "platform": parsed.platform,
        "handle": parsed.handle,
        "url": account.url,
        "display_name": account.display_name,
        "classification": account.classification,
        "status": status,
        "is_anonymous": account.is_anonymous,
        "owner_id": owner_id,
        "unit_id": account.unit_id,
        "objectives": list(dict.fromkeys(body.objectives)),
        "platform_account_id": account.platform_account_id,
        "review_due_on": review_due_on,
    }
    audit.record(
        session,
        principal,
        "account.created",
        "account",
        account.id,
        {k: [None, v] for k, v in created.items() if v not in (None, "", [], False)},
        force_id=force_id,
    )
    if principal.has(*MANAGER_ROLES):
        await outbox.emit_in_force(
            session, force_id, type="account.registered", subject={"account_id": account.id},
            data={"platform": account.platform, "classification": account.classification,
                  "status": status, "via": "direct"},
        )  # fmt: skip
    # Integration point (workflows): a staff declaration opens a `registration` request,
    # requested by the declaring staff member, in this same transaction.
    if not principal.has(*MANAGER_ROLES):
        from app.workflows import service as workflows  # late: workflows imports accounts

        await workflows.open_request(
            session, principal, kind="registration", account=account,
            reason="Declared by the staff member who runs it.", details={},
        )  # fmt: skip
    return account


# --- descriptive edits --------------------------------------------------------------


def _snapshot(account: Account) -> dict[str, Any]:
    return {field: getattr(account, field) for field in DESCRIPTIVE}


async def update_account(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    body: AccountUpdate,
    if_match: str | None,
) -> Account:
    """Edit descriptive fields; a new URL may rename the handle but not change platform."""
    account = await get_visible(session, principal, account_id)
    check_if_match(if_match, account.version)
    given = body.model_fields_set
    for field in NOT_NULL_ON_PATCH:
        if field in given and getattr(body, field) is None:
            raise _invalid(field, "May not be null.")
    before = _snapshot(account)
    allowance = None
    before_objectives = await repository.objective_codes(session, account.id)
    objective_ids = await _check_links(
        session, account.force_id, body.unit_id, body.objectives if "objectives" in given else None
    )
    if "url" in given and body.url is not None:
        parsed = resolve_handle(body.url, None, None)
        if parsed.platform != account.platform:
            raise _invalid("url", f"The link is for {parsed.platform}, not {account.platform}.")
        renamed = parsed.handle != account.handle and account.status not in RELEASED_STATUSES
        if renamed:
            allowance = await _ensure_free(
                session, principal, parsed.platform, parsed.handle, "update", account.id
            )
        account.handle = parsed.handle
        account.url = parsed.url or body.url
    for field in ("display_name", "platform_account_id", "unit_id", "is_anonymous"):
        if field in given:
            setattr(account, field, getattr(body, field))
    changes = audit.diff(before, _snapshot(account))
    if "objectives" in given:
        after_objectives = sorted({*(body.objectives or [])})
        if after_objectives != before_objectives:
            await repository.replace_objectives(session, account.id, objective_ids)
            changes["objectives"] = [before_objectives, after_objectives]
    if changes:
        account.updated_at = clock.now()  # bumps the version even for objectives alone
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:
            if _is_live_duplicate(exc):
                raise await _raced(
                    session, principal, allowance, account, "update", account.id
                ) from None
            raise
        audit.record(
            session, principal, "account.updated", "account", account.id, changes,
            force_id=account.force_id,
        )  # fmt: skip
    return account
