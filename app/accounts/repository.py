"""Every account query. Scoping lives in `visible_to(principal)`, in the SQL WHERE."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth import redaction
from app.auth.principal import Principal
from app.compliance import flags
from app.db import Database, fetch_rows
from app.models import (
    Account,
    AccountObjective,
    AuditEvent,
    Custodianship,
    Force,
    Objective,
    Person,
    Unit,
)
from app.models.enums import RELEASED_STATUSES
from app.sqljson import json_array, json_array_agg, loads_list

# Roles that see every account of their force (collector: a machine client posting
# activity figures for any of them).
FORCE_WIDE_ROLES = ("comms_admin", "psd", "collector")

Owner = aliased(Person, name="owner")


def caller_operates(principal: Principal) -> sa.ColumnElement[bool]:
    """True for accounts the caller runs now: an open custodianship of their person record."""
    if principal.force_id is None:
        return sa.false()
    return redaction.caller_runs(Account.id, principal.force_id, principal.sub)


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    """SPEC §3: national roles see all; force roles their force; staff-only callers see
    corporate/official accounts of their force and the unofficial ones they run."""
    if principal.is_national:
        return sa.true()
    scope = Account.force_id == principal.force_id
    if principal.has(*FORCE_WIDE_ROLES):
        return scope
    return sa.and_(
        scope, sa.or_(Account.classification != "unofficial", caller_operates(principal))
    )


def _base_columns(shown: sa.ColumnElement[bool]) -> list[Any]:
    return [
        Account.id,
        Account.force_id,
        Force.code.label("force"),
        Account.platform,
        Account.handle,
        Account.url,
        Account.platform_account_id,
        Account.display_name,
        Account.classification,
        Account.status,
        Account.is_anonymous,
        Account.unit_id,
        redaction.shown_or_null(shown, Account.owner_id, "owner_id"),
        redaction.shown_or_null(shown, Owner.name, "owner_name"),
        shown.label("operators_shown"),
        Account.review_due_on,
        Account.last_post_at,
        Account.legal_hold,
        Account.version,
        Account.created_at,
        Account.updated_at,
    ]


# --- the account SELECT, built once per caller shape --------------------------------
#
# Building the flag expressions costs tens of milliseconds of Python, far more than
# running the query, so each statement is built once per shape (whose accounts, whose
# operators, which filters) with everything else — the caller's force and subject, the
# filter values and the flags' `now` — bound as parameters at execution.

_SCOPE = sa.bindparam("scope_force_id", type_=sa.Uuid())
# Every account statement joins the account's force row: flags read its settings there.
_FLAG_TIME = dataclasses.replace(flags.BOUND, joined_force=Force.__table__)
_SUB = sa.bindparam("caller_sub", type_=sa.String())
_ACCOUNT_ID = sa.bindparam("account_id", type_=sa.Uuid())


def _shape(principal: Principal) -> tuple[str, redaction.OperatorShape]:
    """(whose accounts: all | force | staff, whose operators: `redaction.operator_shape`)."""
    if principal.is_national:
        visibility = "all"
    elif principal.has(*FORCE_WIDE_ROLES):
        visibility = "force"
    else:
        visibility = "staff"
    return visibility, redaction.operator_shape(principal)


def _operators_shown(operators: redaction.OperatorShape) -> sa.ColumnElement[bool]:
    return redaction.operators_shown_sql(
        operators, Account.force_id, Account.is_anonymous, _SCOPE, _operates_bound
    )


def _params(principal: Principal, now: datetime) -> dict[str, Any]:
    return {
        "scope_force_id": principal.force_id,
        "caller_sub": principal.sub,
        **flags.bound_values(now),
    }


def _operates_bound() -> sa.ColumnElement[bool]:
    return redaction.caller_runs(Account.id, _SCOPE, _SUB)


def _children_columns(shown: sa.ColumnElement[bool]) -> list[Any]:
    """The account's open editors ([[id, name], ...]; NULL where the caller may not see
    operators) and objective codes, as JSON text, so one statement answers a read (sorted
    in Python: `editors_of`, `objectives_of`)."""
    editor = aliased(Person, name="editor")
    editors = (
        sa.select(json_array_agg(json_array(editor.id, editor.name)))
        .select_from(Custodianship)
        .join(editor, editor.id == Custodianship.person_id)
        .where(
            Custodianship.account_id == Account.id,
            Custodianship.role == "editor",
            Custodianship.valid_to.is_(None),
        )
        .scalar_subquery()
    )
    # A key lookup per link: as a join, PostgreSQL hashes the whole objectives table for
    # every account of a page.
    code = (
        sa.select(Objective.code)
        .where(Objective.id == AccountObjective.objective_id)
        .scalar_subquery()
    )
    objectives = (
        sa.select(json_array_agg(code))
        .where(AccountObjective.account_id == Account.id)
        .scalar_subquery()
    )
    return [
        redaction.shown_or_null(shown, editors, "editors_json"),
        objectives.label("objectives_json"),
    ]


def editors_of(row: Mapping[str, Any]) -> list[tuple[uuid.UUID, str]]:
    pairs = [(uuid.UUID(i), n) for i, n in loads_list(row["editors_json"])]
    return sorted(pairs, key=lambda e: (e[1], str(e[0])))


def objectives_of(row: Mapping[str, Any]) -> list[str]:
    return sorted(loads_list(row["objectives_json"]))


def _build_select(shape: tuple[str, redaction.OperatorShape]) -> sa.Select[*tuple[Any, ...]]:
    visibility, operators = shape
    shown = _operators_shown(operators)
    query = (
        sa.select(
            *_base_columns(shown),
            *flags.flag_columns(_FLAG_TIME),
            *_children_columns(shown),
        )
        .select_from(Account)
        .join(Force, Force.id == Account.force_id)
        .outerjoin(Owner, Owner.id == Account.owner_id)
    )
    return _in_view(query, visibility)


def _in_view(query: sa.Select[*tuple[Any, ...]], visibility: str) -> sa.Select[*tuple[Any, ...]]:
    if visibility == "force":
        query = query.where(Account.force_id == _SCOPE)
    elif visibility == "staff":
        query = query.where(
            Account.force_id == _SCOPE,
            sa.or_(Account.classification != "unofficial", _operates_bound()),
        )
    return query


_built: dict[Any, sa.Select[*tuple[Any, ...]]] = {}
# Filter combinations are finite but many; bound the memory a caller can make us spend.
_MAX_BUILT = 512


def _cached(
    key: Any, build: Callable[[], sa.Select[*tuple[Any, ...]]]
) -> sa.Select[*tuple[Any, ...]]:
    found = _built.get(key)
    if found is None:
        if len(_built) >= _MAX_BUILT:
            _built.clear()
        found = _built[key] = build()
    return found


def _base(
    principal: Principal,
) -> tuple[tuple[str, redaction.OperatorShape], sa.Select[*tuple[Any, ...]]]:
    shape = _shape(principal)
    return shape, _cached(("base", shape), lambda: _build_select(shape))


# Account reads run on the request's session (inside a write, to see its own changes) or
# on the database's direct read path (GET routes: one statement needs no transaction).


async def account_row(
    source: AsyncSession | Database, principal: Principal, account_id: uuid.UUID, now: datetime
) -> Mapping[str, Any] | None:
    """The account, its force code, owner name, flags, editors and objectives in one
    statement."""
    shape, base = _base(principal)
    query = _cached(("one", shape), lambda: base.where(Account.id == _ACCOUNT_ID))
    params = {**_params(principal, now), "account_id": account_id}
    rows = await fetch_rows(source, query, params)
    return rows[0] if rows else None


@dataclass(frozen=True)
class AccountFilters:
    force_id: uuid.UUID | None = None
    platform: str | None = None
    classification: str | None = None
    status: str | None = None
    unit_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    flag: str | None = None
    q: str | None = None


_EQUALITY_FILTERS = {
    "force_id": Account.force_id,
    "platform": Account.platform,
    "classification": Account.classification,
    "status": Account.status,
    "unit_id": Account.unit_id,
    "owner_id": Account.owner_id,
}


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its own %, _ and \\ taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(
    base: sa.Select[*tuple[Any, ...]],
    operators: redaction.OperatorShape,
    given: tuple[str, ...],
    flag: str | None,
    q: bool,
    per_row: bool = True,
) -> sa.Select[*tuple[Any, ...]]:
    query = base
    for name in given:
        query = query.where(_EQUALITY_FILTERS[name] == sa.bindparam(f"f_{name}"))
    if "owner_id" in given:
        # Filtering by owner is asking who runs an account: only where the answer shows.
        query = query.where(_operators_shown(operators))
    if flag is not None:
        # Per row: the page walks the (force_id, id) or primary key index and stops at
        # its limit, so its cost follows the page, not the registry (the set form
        # evaluates the flag over every account first).
        query = query.where(flags.flag_expression(flag, _FLAG_TIME, per_row=per_row))
    if q:
        pattern = sa.bindparam("q_pattern", type_=sa.String())
        query = query.where(
            sa.or_(
                sa.func.lower(Account.handle).like(pattern, escape="\\"),
                sa.func.lower(Account.display_name).like(pattern, escape="\\"),
            )
        )
    return query


async def account_rows(
    source: AsyncSession | Database,
    principal: Principal,
    filters: AccountFilters,
    after_id: uuid.UUID | None,
    limit: int,
    now: datetime,
) -> Sequence[Mapping[str, Any]]:
    """A page in id order (stable, and served by the (force_id, id) and primary key indexes).
    The statement is cached per combination of filters given; their values are bound."""
    shape, base = _base(principal)
    params = _params(principal, now)
    given = tuple(n for n in _EQUALITY_FILTERS if getattr(filters, n) is not None)
    params.update({f"f_{n}": getattr(filters, n) for n in given})
    if filters.q:
        params["q_pattern"] = like_pattern(filters.q)
    if after_id is not None:
        params["after_id"] = after_id
    params["row_limit"] = limit

    def build() -> sa.Select[*tuple[Any, ...]]:
        query = _filtered(base, shape[1], given, filters.flag, bool(filters.q))
        if after_id is not None:
            query = query.where(Account.id > sa.bindparam("after_id", type_=sa.Uuid()))
        return query.order_by(Account.id).limit(sa.bindparam("row_limit", type_=sa.Integer()))

    key = ("page", shape, given, filters.flag, bool(filters.q), after_id is not None)
    query = _cached(key, build)
    return await fetch_rows(source, query, params)


def matching(
    principal: Principal, filters: AccountFilters, now: datetime, *columns: Any
) -> tuple[sa.Select[*tuple[Any, ...]], dict[str, Any]]:
    """`columns` of every account `GET /accounts` would list for these filters, in id
    order, and the statement's parameters: the same scope and filters as the list, with
    the set form of a flag (right for thousands of rows). For bulk work over the accounts,
    also as the SELECT of an INSERT ... SELECT."""
    visibility, operators = _shape(principal)
    given = tuple(n for n in _EQUALITY_FILTERS if getattr(filters, n) is not None)
    params = _params(principal, now)
    params.update({f"f_{n}": getattr(filters, n) for n in given})
    if filters.q:
        params["q_pattern"] = like_pattern(filters.q)
    base = (
        sa.select(*columns)
        .select_from(Account)
        .join(Force, Force.id == Account.force_id)
        .outerjoin(Owner, Owner.id == Account.owner_id)
    )
    query = _filtered(
        _in_view(base, visibility), operators, given, filters.flag, bool(filters.q),
        per_row=False,
    )  # fmt: skip
    return query.order_by(Account.id), params


async def lookup_rows(
    source: AsyncSession | Database,
    principal: Principal,
    platform: str,
    handle: str,
    now: datetime,
) -> Sequence[Mapping[str, Any]]:
    """Every record of one platform handle in scope, released ones included, newest first."""
    shape, base = _base(principal)
    query = _cached(
        ("lookup", shape),
        lambda: base.where(
            Account.platform == sa.bindparam("lk_platform"),
            Account.handle == sa.bindparam("lk_handle"),
        ).order_by(Account.created_at.desc(), Account.id.desc()),
    )
    params = {**_params(principal, now), "lk_platform": platform, "lk_handle": handle}
    return await fetch_rows(source, query, params)


async def get(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> Account | None:
    return await session.scalar(
        sa.select(Account).where(Account.id == account_id, visible_to(principal))
    )


async def accounts_by_id(session: AsyncSession, ids: set[uuid.UUID]) -> list[Account]:
    return list((await session.scalars(sa.select(Account).where(Account.id.in_(ids)))).all())


async def live_holders(
    session: AsyncSession,
    principal: Principal | None,
    platform: str,
    handles: Sequence[str],
    exclude_id: uuid.UUID | None = None,
) -> dict[str, tuple[uuid.UUID, bool]]:
    """The live record (any force) of each of these handles that has one: its id and
    whether the caller may see it (always, for `principal` None: the system)."""
    visible = sa.true() if principal is None else visible_to(principal)
    query = sa.select(Account.handle, Account.id, visible.label("visible")).where(
        Account.platform == platform,
        Account.handle.in_(handles),
        Account.status.not_in(RELEASED_STATUSES),
    )
    if exclude_id is not None:
        query = query.where(Account.id != exclude_id)
    rows = await session.execute(query)
    return {row.handle: (row.id, bool(row.visible)) for row in rows}


async def live_duplicate(
    session: AsyncSession,
    principal: Principal | None,
    platform: str,
    handle: str,
    exclude_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, bool] | None:
    """The live record of (platform, handle) in any force, and whether the caller sees it."""
    return (await live_holders(session, principal, platform, [handle], exclude_id)).get(handle)


async def force_review_interval(session: AsyncSession, force_id: uuid.UUID) -> int:
    return int(
        await session.scalar(sa.select(Force.review_interval_days).where(Force.id == force_id))
        or 365
    )


async def active_person(
    session: AsyncSession, force_id: uuid.UUID, person_id: uuid.UUID
) -> Person | None:
    return await session.scalar(
        sa.select(Person).where(
            Person.id == person_id, Person.force_id == force_id, Person.status == "active"
        )
    )


async def person_in_scope(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID
) -> Person | None:
    """A person record the caller may read (`redaction.people_filter`)."""
    return await session.scalar(
        sa.select(Person).where(
            Person.id == person_id,
            redaction.people_filter(principal, Person.force_id, Person.subject),
        )
    )


async def operators_shown(
    session: AsyncSession, principal: Principal, account_ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Of these accounts, those whose operators the caller may see, in one statement."""
    if not account_ids:
        return set()
    shown = redaction.principal_operators_shown(
        principal, Account.force_id, Account.is_anonymous, Account.id
    )
    rows = await session.scalars(sa.select(Account.id).where(Account.id.in_(account_ids), shown))
    return set(rows)


async def unit_exists(session: AsyncSession, force_id: uuid.UUID, unit_id: uuid.UUID) -> bool:
    found = await session.scalar(
        sa.select(Unit.id).where(Unit.id == unit_id, Unit.force_id == force_id)
    )
    return found is not None


async def active_objective_ids(
    session: AsyncSession, force_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, uuid.UUID]:
    if not codes:
        return {}
    rows = await session.execute(
        sa.select(Objective.code, Objective.id).where(
            Objective.force_id == force_id,
            Objective.code.in_(list(codes)),
            Objective.active.is_(True),
        )
    )
    return {row.code: row.id for row in rows}


async def objective_codes(session: AsyncSession, account_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        sa.select(Objective.code)
        .join(AccountObjective, AccountObjective.objective_id == Objective.id)
        .where(AccountObjective.account_id == account_id)
        .order_by(Objective.code)
    )
    return list(rows)


async def replace_objectives(
    session: AsyncSession, account_id: uuid.UUID, objective_ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(
        sa.delete(AccountObjective).where(AccountObjective.account_id == account_id)
    )
    if objective_ids:
        await session.execute(
            sa.insert(AccountObjective),
            [{"account_id": account_id, "objective_id": i} for i in objective_ids],
        )


async def open_custodianships(
    session: AsyncSession, account_id: uuid.UUID, role: str | None = None
) -> list[Custodianship]:
    query = sa.select(Custodianship).where(
        Custodianship.account_id == account_id, Custodianship.valid_to.is_(None)
    )
    if role is not None:
        query = query.where(Custodianship.role == role)
    return list((await session.scalars(query)).all())


async def open_custodianships_of_person(
    session: AsyncSession, person_id: uuid.UUID, role: str
) -> list[Custodianship]:
    query = sa.select(Custodianship).where(
        Custodianship.person_id == person_id,
        Custodianship.role == role,
        Custodianship.valid_to.is_(None),
    )
    return list((await session.scalars(query)).all())


def _holds_at(at: datetime) -> sa.ColumnElement[bool]:
    # Intervals are half-open, [valid_from, valid_to): at a hand-over instant the new
    # custodian holds the account.
    return sa.and_(
        Custodianship.valid_from <= at,
        sa.or_(Custodianship.valid_to.is_(None), Custodianship.valid_to > at),
    )


async def custodians_at(session: AsyncSession, account_id: uuid.UUID, at: datetime) -> list[Any]:
    query = (
        sa.select(Custodianship.role, Person.id, Person.name)
        .join(Person, Person.id == Custodianship.person_id)
        .where(Custodianship.account_id == account_id, _holds_at(at))
        .order_by(Custodianship.role, Person.name, Person.id)
    )
    return list((await session.execute(query)).all())


async def custodian_intervals(session: AsyncSession, account_id: uuid.UUID) -> list[Any]:
    query = (
        sa.select(
            Custodianship.role,
            Custodianship.valid_from,
            Custodianship.valid_to,
            Person.id.label("person_id"),
            Person.name,
        )
        .join(Person, Person.id == Custodianship.person_id)
        .where(Custodianship.account_id == account_id)
        # At one instant: the owner ('owner' > 'editor'), then editors by name.
        .order_by(Custodianship.valid_from, Custodianship.role.desc(), Person.name, Person.id)
    )
    return list((await session.execute(query)).all())


async def account_events(session: AsyncSession, account_id: uuid.UUID) -> list[AuditEvent]:
    query = (
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "account", AuditEvent.entity_id == str(account_id))
        .order_by(AuditEvent.id)
    )
    return list((await session.scalars(query)).all())


async def operated_at(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID, at: datetime
) -> list[Any]:
    query = (
        sa.select(
            Custodianship.role,
            Custodianship.valid_from,
            Custodianship.valid_to,
            Account.id,
            Force.code.label("force"),
            Account.platform,
            Account.handle,
            Account.url,
            Account.display_name,
            Account.classification,
            Account.status,
        )
        .join(Account, Account.id == Custodianship.account_id)
        .join(Force, Force.id == Account.force_id)
        .where(Custodianship.person_id == person_id, _holds_at(at), visible_to(principal))
        .order_by(Custodianship.valid_from, Account.handle, Account.id)
    )
    return list((await session.execute(query)).all())
