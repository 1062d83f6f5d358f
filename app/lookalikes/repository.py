"""Queries behind look-alike detection: candidates among the public accounts (active,
corporate or official) only, so nothing else can ever be named as a look-alike.

Each statement is built once per dialect (the direct read path caches plans by identity).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database, by_name, fetch_rows
from app.lookalikes import skeleton
from app.models import Account, Force
from app.public.repository import PUBLIC_CLASSIFICATIONS

# Candidates handed to the rules per look-up: similar keys first (PostgreSQL), ample for
# the three answers (exact matches come through the equality branches whatever their rank).
MAX_CANDIDATES = 50
# SQLite has no trigram index: keys within the length window are read from the partial
# index over the public accounts, at most this many.
MAX_SQLITE_CANDIDATES = 5_000


def _public_columns() -> Any:
    return sa.select(
        Account.id,
        Force.code.label("force_code"),
        Force.name.label("force_name"),
        Account.platform,
        Account.handle,
        Account.url,
        Account.display_name,
        Account.classification,
        Account.lookalike_key,
        Account.lookalike_stem,
    ).join(Force, Force.id == Account.force_id)


# The public accounts' condition as literals, not bound values: the partial indexes over
# the public accounts (trigrams, deletions) serve a prepared statement's generic plan
# only when its condition visibly implies theirs.
_PUBLIC_SQL = sa.text(
    "accounts.status = 'active' AND accounts.classification IN ("
    + ", ".join(f"'{c}'" for c in PUBLIC_CLASSIFICATIONS)
    + ")"
)


def _public(query: Any) -> Any:
    return query.where(_PUBLIC_SQL)


def _param(name: str) -> Any:
    return sa.bindparam(name, type_=sa.String())


def _equal_forms() -> sa.ColumnElement[bool]:
    """The same key, a key that is the candidate's stem, or a stem that is its key."""
    return sa.or_(
        Account.lookalike_key.in_(
            [_param("key1"), _param("key2"), _param("stem1"), _param("stem2")]
        ),
        Account.lookalike_stem.in_([_param("long_key1"), _param("long_key2")]),
    )


def _within_one_edit() -> sa.ColumnElement[bool]:
    """Keys sharing a deletion with the handle's (skeleton.deletions), by the GIN index
    over lookalike_deletions(): every key one edit away, and few others."""
    deletions = sa.bindparam("deletions", type_=postgresql.ARRAY(sa.Text()))
    return sa.func.lookalike_deletions(Account.lookalike_key).op("&&")(deletions)


def _candidates_pg(*near: sa.ColumnElement[bool]) -> Any:
    return (
        _public(_public_columns())
        .where(sa.or_(_equal_forms(), *near))
        .order_by(
            sa.func.similarity(Account.lookalike_key, _param("key1")).desc(),
            Account.id,
        )
        .limit(MAX_CANDIDATES)
    )


# Keys under skeleton.TWO_EDITS_FROM characters are allowed one edit: the deletion index
# answers exactly. Longer ones may be two edits from a candidate: similar trigrams too.
_CANDIDATES_PG_ONE_EDIT = _candidates_pg(_within_one_edit())
_CANDIDATES_PG_TWO_EDITS = _candidates_pg(
    _within_one_edit(), Account.lookalike_key.op("%")(_param("key1"))
)
_CANDIDATES_SQLITE = (
    _public(_public_columns())
    .where(
        sa.or_(
            _equal_forms(),
            sa.func.length(Account.lookalike_key).between(
                sa.bindparam("shortest", type_=sa.Integer()),
                sa.bindparam("longest", type_=sa.Integer()),
            ),
        )
    )
    .order_by(Account.id)
    .limit(MAX_SQLITE_CANDIDATES)
)
_FORCES = sa.select(Force.id, Force.code, Force.name).order_by(Force.code)
_OF_FORCES_LIMIT = 3


def _is_sqlite(source: AsyncSession | Database) -> bool:
    if isinstance(source, Database):
        return source.is_sqlite
    return source.get_bind().dialect.name == "sqlite"


async def candidates(
    source: AsyncSession | Database, spellings: Sequence[skeleton.Forms]
) -> Sequence[Mapping[str, Any]]:
    """Public accounts that may resemble a handle with these forms (the rules decide)."""
    keys = [f.key for f in spellings] or [""]
    stems = [f.stem if len(f.stem) >= skeleton.MIN_STEM else "" for f in spellings] or [""]
    long_keys = [k if len(k) >= skeleton.MIN_STEM else "" for k in keys]
    never = "-"  # never a stored key or stem (they are letters and digits only)
    params: dict[str, Any] = {
        "key1": keys[0],
        "key2": keys[-1],
        "stem1": stems[0] or never,
        "stem2": stems[-1] or never,
        "long_key1": long_keys[0] or never,
        "long_key2": long_keys[-1] or never,
    }
    if _is_sqlite(source):
        length = len(keys[0])
        reach = skeleton.distance_limit(length)  # the rules' limit for this length at most
        params["shortest"], params["longest"] = (
            (length - reach, length + reach) if reach else (-1, -1)
        )
        return await fetch_rows(source, _CANDIDATES_SQLITE, params)
    params["deletions"] = sorted({d for k in keys for d in skeleton.deletions(k)})
    two_edits = max(len(k) for k in keys) >= skeleton.TWO_EDITS_FROM
    statement = _CANDIDATES_PG_TWO_EDITS if two_edits else _CANDIDATES_PG_ONE_EDIT
    return await fetch_rows(source, statement, params)


async def forces(source: AsyncSession | Database) -> Sequence[Mapping[str, Any]]:
    return await fetch_rows(source, _FORCES, {})


async def accounts_of_forces(
    session: AsyncSession | Database, force_ids: Sequence[uuid.UUID], platform: str
) -> Sequence[Mapping[str, Any]]:
    """A few public accounts of the forces, the platform's first, corporate before
    official. Not a cached statement: the forces' list varies."""
    query = (
        _public(_public_columns())
        .where(Account.force_id.in_(list(force_ids)))
        .order_by(
            sa.case((Account.platform == platform, 0), else_=1),
            sa.case((Account.classification == "corporate", 0), else_=1),
            Account.handle,
            Account.id,
        )
        .limit(_OF_FORCES_LIMIT * max(1, len(force_ids)))
    )
    if isinstance(session, Database):
        async with session.engine.connect() as conn:
            return by_name((await conn.execute(query)).mappings().all())
    return by_name((await session.execute(query)).mappings().all())
