"""Who runs an account, over time: owner and editor custodianships, never overwritten.

Each custodianship is a half-open interval [valid_from, valid_to) (valid_to NULL: still
open). `accounts.owner_id` mirrors the open owner interval, so it is NULL once the
custodianships end (a decommissioned account has no owner now; who owned it, and when,
stays in its intervals and history).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.accounts import repository
from app.accounts.errors import (
    AccountNotFound,
    AlreadyEditor,
    AlreadyOwner,
    EditorNotFound,
    GuidelinesNotSigned,
    PersonNotFound,
)
from app.accounts.schemas import (
    AccountBrief,
    CustodiansRead,
    HistoryEntry,
    HistoryRead,
    OperatedAccount,
    Operator,
    PersonAccountsRead,
)
from app.audit import service as audit
from app.auth.principal import Principal
from app.errors import ValidationFailed
from app.guidelines.service import has_signed_current
from app.models import Account, Custodianship
from app.outbox import service as outbox


async def get_visible(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID
) -> Account:
    """The account as an ORM object for changes; AccountNotFound outside the caller's scope."""
    account = await repository.get(session, principal, account_id)
    if account is None:
        raise AccountNotFound(f"No account {account_id} in your scope.")
    return account


def _touch(account: Account, at: datetime) -> None:
    # Changing the row bumps its version, so the ETag follows the custodians.
    account.updated_at = max(at, clock.now())


async def _flush_or_conflict(session: AsyncSession, error: Exception) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if "custodianships" in str(exc.orig):
            raise error from None
        raise


# --- editors ------------------------------------------------------------------------


async def add_editor(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, person_id: uuid.UUID
) -> Account:
    """Open an editor interval for an active person of the account's force who has signed
    the current guidelines."""
    account = await get_visible(session, principal, account_id)
    person = await repository.active_person(session, account.force_id, person_id)
    if person is None:
        msg = "No active person with this id in the account's force."
        raise ValidationFailed(msg, errors=[{"loc": ["body", "person_id"], "msg": msg}])
    if account.owner_id == person_id:
        raise AlreadyOwner("This person owns the account already.")
    editors = await repository.open_custodianships(session, account.id, "editor")
    if any(c.person_id == person_id for c in editors):
        raise AlreadyEditor("This person is already an editor of the account.")
    if not await has_signed_current(session, person_id, account.force_id):
        raise GuidelinesNotSigned("The person has not signed the current guidelines.")
    now = clock.now()
    session.add(
        Custodianship(
            force_id=account.force_id,
            account_id=account.id,
            person_id=person_id,
            role="editor",
            valid_from=now,
        )
    )
    _touch(account, now)
    await _flush_or_conflict(session, AlreadyEditor("This person is already an editor."))
    audit.record(
        session, principal, "account.editor_added", "account", account.id,
        {"editor": [None, person_id]}, force_id=account.force_id,
    )  # fmt: skip
    return account


async def remove_editor(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, person_id: uuid.UUID
) -> Account:
    """Close the person's open editor interval."""
    account = await get_visible(session, principal, account_id)
    editors = await repository.open_custodianships(session, account.id, "editor")
    mine = [c for c in editors if c.person_id == person_id]
    if not mine:
        raise EditorNotFound("This person is not an editor of the account.")
    now = clock.now()
    for custody in mine:
        custody.valid_to = max(now, custody.valid_from)
    _touch(account, now)
    await session.flush()
    audit.record(
        session, principal, "account.editor_removed", "account", account.id,
        {"editor": [person_id, None]}, force_id=account.force_id,
    )  # fmt: skip
    return account


# --- owner (for the workflows) ------------------------------------------------------


async def change_owner(
    session: AsyncSession,
    principal: Principal,
    account: Account,
    new_owner_id: uuid.UUID | None,
    at: datetime | None = None,
) -> Account:
    """End the open owner interval at `at` (default now) and open one for the new owner
    (None: no owner). The new owner must be an active person of the account's force;
    compliance rules (signed guidelines) are the caller's to check."""
    at = at or clock.now()
    if new_owner_id == account.owner_id:
        return account
    if new_owner_id is not None and (
        await repository.active_person(session, account.force_id, new_owner_id) is None
    ):
        msg = "The new owner must be an active person of the account's force."
        raise ValidationFailed(msg, errors=[{"loc": ["body", "owner_id"], "msg": msg}])
    for custody in await repository.open_custodianships(session, account.id, "owner"):
        if at < custody.valid_from:
            raise ValidationFailed("An owner change cannot predate the current owner's start.")
        custody.valid_to = at
    await session.flush()  # the open-owner unique index sees the old interval closed first
    if new_owner_id is not None:
        session.add(
            Custodianship(
                force_id=account.force_id,
                account_id=account.id,
                person_id=new_owner_id,
                role="owner",
                valid_from=at,
            )
        )
    old = account.owner_id
    account.owner_id = new_owner_id
    _touch(account, at)
    await session.flush()
    audit.record(
        session, principal, "account.owner_changed", "account", account.id,
        {"owner_id": [old, new_owner_id]}, force_id=account.force_id, at=at,
    )  # fmt: skip
    # An anonymous account's operators are named to no subscriber, not even by id.
    owners = {} if account.is_anonymous else {"owner_id": new_owner_id, "previous_owner_id": old}
    await outbox.emit_in_force(
        session, account.force_id, type="account.owner_changed",
        subject={"account_id": account.id}, data=owners,
    )  # fmt: skip
    return account


async def end_custodianships(
    session: AsyncSession, principal: Principal, account: Account, at: datetime | None = None
) -> Account:
    """End every open interval (decommissioning). owner_id becomes NULL, mirroring that no
    owner interval is open; the past owners stay in the intervals."""
    at = at or clock.now()
    open_ = await repository.open_custodianships(session, account.id)
    if not open_ and account.owner_id is None:
        return account
    for custody in open_:
        custody.valid_to = max(at, custody.valid_from)
    old_owner = account.owner_id
    account.owner_id = None
    _touch(account, at)
    await session.flush()
    editors = sorted(str(c.person_id) for c in open_ if c.role == "editor")
    audit.record(
        session, principal, "account.custodianships_ended", "account", account.id,
        {"owner_id": [old_owner, None], "editors": [editors, []]},
        force_id=account.force_id, at=at,
    )  # fmt: skip
    return account


async def end_editorships_of_person(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID, at: datetime | None = None
) -> int:
    """End every open editor interval of a person (a leaver); the number ended."""
    at = at or clock.now()
    ended = await repository.open_custodianships_of_person(session, person_id, "editor")
    for custody in ended:
        custody.valid_to = max(at, custody.valid_from)
        audit.record(
            session, principal, "account.editor_removed", "account", custody.account_id,
            {"editor": [person_id, None]}, force_id=custody.force_id, at=at,
        )  # fmt: skip
    if ended:
        accounts = await repository.accounts_by_id(session, {c.account_id for c in ended})
        for account in accounts:
            _touch(account, at)
        await session.flush()
    return len(ended)


# --- reading the past (comms_admin, psd, admin) --------------------------------------


async def _shows_operators(session: AsyncSession, principal: Principal, account: Account) -> bool:
    return account.id in await repository.operators_shown(session, principal, {account.id})


async def custodians(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, at: datetime | None
) -> CustodiansRead:
    """Owner and editors at instant `at` (default now); nobody where the caller may not
    see the account's operators."""
    at = at or clock.now()
    account = await get_visible(session, principal, account_id)
    if not await _shows_operators(session, principal, account):
        return CustodiansRead(at=at, owner=None, editors=[], operators_redacted=True)
    owner = None
    editors = []
    for row in await repository.custodians_at(session, account.id, at):
        ref = Operator(id=row.id, name=row.name)
        if row.role == "owner":
            owner = ref
        else:
            editors.append(ref)
    return CustodiansRead(at=at, owner=owner, editors=editors)


async def history(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID
) -> HistoryRead:
    """Custodian intervals and status/classification changes (from the account's audit
    events), oldest first. Where the caller may not see the account's operators, the
    intervals keep their times but no person, and no change names its actor."""
    account = await get_visible(session, principal, account_id)
    shown = await _shows_operators(session, principal, account)
    # At one instant, the change events (e.g. the creation) come before the intervals.
    items: list[tuple[datetime, int, int, HistoryEntry]] = []
    for n, row in enumerate(await repository.custodian_intervals(session, account.id)):
        entry = HistoryEntry(
            at=row.valid_from,
            kind="custodian",
            role=row.role,
            person=Operator(id=row.person_id, name=row.name) if shown else None,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
        )
        items.append((row.valid_from, 1, n, entry))
    for event in await repository.account_events(session, account.id):
        for field in ("classification", "status"):
            change = (event.changes or {}).get(field)
            if not (isinstance(change, list) and len(change) == 2):
                continue
            entry = HistoryEntry(
                at=event.at,
                kind=field,
                old=change[0],
                new=change[1],
                action=event.action,
                actor=event.actor_sub if shown else None,
            )
            items.append((event.at, 0, event.id * 2 + (field == "status"), entry))
    items.sort(key=lambda item: item[:3])
    return HistoryRead(
        account_id=account.id,
        items=[item[3] for item in items],
        operators_redacted=not shown,
    )


async def person_accounts(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID, at: datetime | None
) -> PersonAccountsRead:
    """The accounts a person owned or edited at instant `at` (default now)."""
    at = at or clock.now()
    person = await repository.person_in_scope(session, principal, person_id)
    if person is None:
        raise PersonNotFound(f"No person {person_id} in your scope.")
    rows = await repository.operated_at(session, principal, person.id, at)
    items = [
        OperatedAccount(
            account=AccountBrief(
                id=row.id,
                force=row.force,
                platform=row.platform,
                handle=row.handle,
                url=row.url,
                display_name=row.display_name,
                classification=row.classification,
                status=row.status,
            ),
            role=row.role,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
        )
        for row in rows
    ]
    return PersonAccountsRead(person=Operator(id=person.id, name=person.name), at=at, items=items)
