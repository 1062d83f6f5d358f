"""Timestamp arithmetic in SQL that gives the same answer on SQLite and PostgreSQL.

The flags compare stored timestamps with "now minus a force's setting in days", where
the setting comes from the account's force row, so the subtraction has to happen in SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.models.base import UTCDateTime


class days_before(FunctionElement[datetime]):
    """`instant - days * 24 h` (absolute hours, so no daylight-saving drift on PostgreSQL)."""

    type = UTCDateTime()
    name = "days_before"
    inherit_cache = True


def instant(value: datetime) -> sa.BindParameter[datetime]:
    """A bound timestamp stored the way the columns are (naive UTC text on SQLite)."""
    return sa.literal(value, UTCDateTime())


@compiles(days_before)
def _days_before_default(element: days_before, compiler: Any, **kw: Any) -> str:
    at, days = list(element.clauses)
    return (
        f"(CAST({compiler.process(at, **kw)} AS TIMESTAMP WITH TIME ZONE)"
        f" - make_interval(hours => 24 * ({compiler.process(days, **kw)})))"
    )


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: Any, **kw: Any) -> str:
    # Columns hold 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime keeps whole seconds only, and
    # whole days never change the fraction, so the bound value's own fraction is re-attached.
    at, days = list(element.clauses)
    at_sql = compiler.process(at, **kw)
    days_sql = compiler.process(days, **kw)
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', {at_sql}, (-({days_sql})) || ' days')"
        f" || substr({at_sql}, 20))"
    )
