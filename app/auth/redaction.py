"""The one redaction rule: who may see the people who run an account (SPEC §3).

An account's operators (its owner and editors, now or at any past instant) are shown to:

- `admin`: always;
- `comms_admin`, `psd`: on every account of their own force;
- `staff`, `collector`: on their own force's accounts that are not anonymous, and on the
  anonymous ones they run themselves;
- nobody else. `auditor` sees no operator of any account (national statistics name no
  one; `/accounts` has always hidden them from auditors, and the reports now agree).

Each role grants only in its own force, so a token that mixes a national and a
force-scoped role sees what the union of its roles grants, force by force.

Where operators are hidden nothing names or resolves to them: no person id, name, subject,
email or staff id. An account then shows `owner: null`, `editors: []` and
`operators_redacted: true`; reason texts say "the owner" or "an editor"; requests, history,
custodians and audit changes drop the people they would name.

People records (`/people`, `/people/{id}` and what hangs off it) are read by `admin`,
by `comms_admin` and `psd` of the person's force, and by a member of staff for their own
record only; an auditor reads none. Everyone who may read a person record therefore also
sees every operator of that person's force, so an id can never resolve a hidden operator.

The rule has two forms that must agree: `operators_shown_sql` for statements (the account
read path decides in SQL, so a page costs one statement) and `sees_operators` for rows
already in hand. `tests/security/test_redaction.py` holds both to every route.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, aliased

from app.auth.principal import Principal
from app.models import Custodianship, Person

# Roles that see every operator of their own force's accounts.
FORCE_OPERATOR_ROLES = ("comms_admin", "psd")
# Force-scoped roles that see operators of accounts that are not anonymous.
FORCE_MEMBER_ROLES = ("staff", "collector", "comms_admin", "psd")
# Roles that read every person record of their own force. `provisioning` is held only by
# a SCIM credential's principal (app.scim.credentials), never by a token.
PEOPLE_READER_ROLES = ("comms_admin", "psd", "provisioning")

OperatorShape = Literal["all", "force", "own", "none"]
# A column of a table or alias (`t.c.force_id`) or of a mapped class (`Person.force_id`).
ColumnLike = sa.ColumnElement[Any] | QueryableAttribute[Any]


def operator_shape(principal: Principal) -> OperatorShape:
    """How much of the rule applies to this caller: all accounts (admin), every account of
    its force (comms_admin, psd), its force's accounts less the anonymous ones it does not
    run (staff, collector), or none (auditor)."""
    if principal.has("admin"):
        return "all"
    if principal.force_id is None:
        return "none"
    if principal.has(*FORCE_OPERATOR_ROLES):
        return "force"
    if principal.has(*FORCE_MEMBER_ROLES):
        return "own"
    return "none"


def sees_operators(
    principal: Principal, force_id: uuid.UUID | None, is_anonymous: bool, operates: bool
) -> bool:
    """Whether the caller may see who runs an account of `force_id` (`operates`: the caller
    runs it now)."""
    shape = operator_shape(principal)
    if shape == "all":
        return True
    if shape == "none" or force_id is None or force_id != principal.force_id:
        return False
    return shape == "force" or not is_anonymous or operates


def operators_shown_sql(
    shape: OperatorShape,
    force_id: ColumnLike,
    is_anonymous: ColumnLike,
    scope_force_id: sa.ColumnElement[Any],
    operates: Callable[[], sa.ColumnElement[bool]],
) -> sa.ColumnElement[bool]:
    """`sees_operators` as a SQL condition over an account's columns; `scope_force_id` is
    the caller's force (a bound parameter), `operates` builds "the caller runs it now"."""
    if shape == "all":
        return sa.true()
    if shape == "none":
        return sa.false()
    same_force = force_id == scope_force_id
    if shape == "force":
        return same_force
    return sa.and_(same_force, sa.or_(sa.not_(is_anonymous), operates()))


def caller_runs(account_id: Any, force_id: Any, sub: Any) -> sa.ColumnElement[bool]:
    """True for an account the caller runs now: an open custodianship of the person record
    linked to the caller (`people.subject == sub` in the caller's force)."""
    custody = aliased(Custodianship, name="caller_custody")
    caller = aliased(Person, name="caller")
    return (
        sa.select(custody.id)
        .join(caller, caller.id == custody.person_id)
        .where(
            custody.account_id == account_id,
            custody.valid_to.is_(None),
            caller.force_id == force_id,
            caller.subject == sub,
        )
        .exists()
    )


def principal_operators_shown(
    principal: Principal, force_id: Any, is_anonymous: Any, account_id: Any
) -> sa.ColumnElement[bool]:
    """`sees_operators` as SQL for one caller, its force and subject inlined as values."""
    return operators_shown_sql(
        operator_shape(principal),
        force_id,
        is_anonymous,
        sa.literal(principal.force_id, sa.Uuid()),
        lambda: caller_runs(account_id, principal.force_id, principal.sub),
    )


def shown_or_null(shown: sa.ColumnElement[bool], column: Any, name: str) -> sa.Label[Any]:
    """`column` where the operators are shown, else NULL, under `name`."""
    return sa.case((shown, column), else_=sa.null()).label(name)


def reads_people_of(principal: Principal, force_id: uuid.UUID) -> bool:
    """Whether the caller reads every person record of `force_id`."""
    if principal.has("admin"):
        return True
    return principal.force_id == force_id and principal.has(*PEOPLE_READER_ROLES)


def people_filter(
    principal: Principal, force_id: ColumnLike, subject: ColumnLike
) -> sa.ColumnElement[bool]:
    """The person records the caller may read, as a WHERE clause: admin all, comms_admin
    and psd their force's, any other force-scoped caller only its own record."""
    if principal.has("admin"):
        return sa.true()
    if principal.force_id is None:
        return sa.false()
    same_force = force_id == principal.force_id
    if principal.has(*PEOPLE_READER_ROLES):
        return same_force
    if principal.has(*FORCE_MEMBER_ROLES):
        return sa.and_(same_force, subject == principal.sub)
    return sa.false()


def may_read_people(principal: Principal) -> bool:
    """Whether the caller may read any person record at all (auditors may not)."""
    return principal.has("admin") or (
        principal.force_id is not None and principal.has(*FORCE_MEMBER_ROLES)
    )


# Keys of audit `changes` and request `details` that hold a person (id or list of ids).
PERSON_KEYS = frozenset(
    {"owner_id", "new_owner_id", "editor", "editors", "person_id", "requested_by_person_id"}
)
# Fields of a person record, as person events carry them.
PERSON_FIELDS = frozenset({"staff_id", "name", "email", "subject", "job_title"})


def without_people(mapping: dict[str, Any] | None) -> dict[str, Any]:
    """A request's `details` or an audit event's `changes` with every key that names or
    resolves to a person dropped (nested `details` too: `{"details": [old, new]}`)."""
    out: dict[str, Any] = {}
    for key, value in (mapping or {}).items():
        if key in PERSON_KEYS or key in PERSON_FIELDS:
            continue
        if key == "details" and isinstance(value, list):
            value = [without_people(v) if isinstance(v, dict) else v for v in value]
        out[key] = value
    return out
