"""Which guideline version is current, and which sign-offs satisfy it — as SQL.

Shared by the guideline services, the compliance flags and the reports, so that "has
signed the current guidelines" means one thing everywhere.

- A guideline document is identified by its scope (national, or one force) and `code`.
- Its current version is the highest version already in effect (`effective_from <= now`).
- A sign-off of version k satisfies current version n when k == n, or when k < n and no
  version in (k, n] has `requires_resign`: a minor revision keeps earlier signatures, but
  a signature made before a version that demanded re-signing never carries past it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.models import Guideline, Signoff

GUIDELINES = Guideline.__table__
SIGNOFFS = Signoff.__table__


def same_document(a: Any, b: Any) -> sa.ColumnElement[bool]:
    """Two guideline rows are versions of one document: same code, same scope."""
    return sa.and_(a.c.code == b.c.code, a.c.force_id.is_not_distinct_from(b.c.force_id))


def in_scope_of(g: Any, force_id: Any) -> sa.ColumnElement[bool]:
    """National guidelines and the given force's own."""
    return sa.or_(g.c.force_id.is_(None), g.c.force_id == force_id)


def is_current(g: Any, now: datetime) -> sa.ColumnElement[bool]:
    later = GUIDELINES.alias()
    return sa.and_(
        g.c.effective_from <= now,
        ~sa.exists()
        .where(
            same_document(later, g), later.c.version > g.c.version, later.c.effective_from <= now
        )
        .correlate_except(later),
    )


def _resign_required_since(signed: Any, g: Any) -> sa.Exists:
    """A version of `g`'s document after `signed` and up to `g` demanded re-signing, so a
    sign-off of `signed` does not carry to `g`."""
    resign = GUIDELINES.alias()
    return (
        sa.exists()
        .where(
            same_document(resign, g),
            resign.c.requires_resign.is_(True),
            resign.c.version > signed.c.version,
            resign.c.version <= g.c.version,
        )
        .correlate_except(resign)
    )


def has_accepted_signoff(person_id: Any, g: Any) -> sa.ColumnElement[bool]:
    """The person holds a sign-off that satisfies guideline version `g`."""
    s = SIGNOFFS.alias()
    signed = GUIDELINES.alias()
    resign_since = _resign_required_since(signed, g)
    return (
        sa.exists()
        .select_from(s.join(signed, signed.c.id == s.c.guideline_id))
        .where(
            s.c.person_id == person_id,
            same_document(signed, g),
            signed.c.version <= g.c.version,
            ~resign_since,
        )
        .correlate_except(s, signed)
    )


def satisfying_versions() -> sa.Select[*tuple[Any, ...]]:
    """(guideline_id, signed_id): a sign-off of `signed_id` satisfies version `guideline_id`.

    Tiny (versions x earlier versions of each document) and independent of people, so
    bulk queries can anti-join sign-offs against it instead of nesting subqueries per row.
    """
    g = GUIDELINES.alias()
    signed = GUIDELINES.alias()
    resign_since = _resign_required_since(signed, g)
    return (
        sa.select(g.c.id.label("guideline_id"), signed.c.id.label("signed_id"))
        .select_from(
            g.join(signed, sa.and_(same_document(signed, g), signed.c.version <= g.c.version))
        )
        .where(~resign_since)
    )


def outstanding_guidelines(
    person_id: uuid.UUID, force_id: uuid.UUID, now: datetime
) -> sa.Select[*tuple[Any, ...]]:
    """Current guidelines (national and the force's) the person has not validly signed."""
    g = GUIDELINES.alias("g")
    return (
        sa.select(g)
        .where(in_scope_of(g, force_id), is_current(g, now), ~has_accepted_signoff(person_id, g))
        .order_by(g.c.code, g.c.force_id.is_(None), g.c.id)
    )
