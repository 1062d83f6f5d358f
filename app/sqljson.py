"""JSON arrays built in SQL, the same text on SQLite and PostgreSQL.

Used to bring an account's few child rows (editors, objective codes) back inside the
account's own row, so a read is one statement instead of two.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class json_array_agg(FunctionElement[str]):
    """Aggregate: a JSON array of the values (NULL over no rows on PostgreSQL, `[]` on
    SQLite; `loads_list` reads both as an empty list)."""

    type = sa.Text()
    name = "json_array_agg"
    inherit_cache = True


class json_array(FunctionElement[str]):
    """A JSON array of the arguments (a pair in one aggregated element)."""

    type = sa.Text()
    name = "json_array"
    inherit_cache = True


@compiles(json_array_agg)
def _agg_postgresql(element: json_array_agg, compiler: Any, **kw: Any) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "sqlite")
def _agg_sqlite(element: json_array_agg, compiler: Any, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array)
def _array_postgresql(element: json_array, compiler: Any, **kw: Any) -> str:
    return f"json_build_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array, "sqlite")
def _array_sqlite(element: json_array, compiler: Any, **kw: Any) -> str:
    return f"json_array({compiler.process(element.clauses, **kw)})"


def loads_list(value: str | list[Any] | None) -> list[Any]:
    """The aggregate's value as a list: JSON text, or already decoded where the driver
    connection decodes `json` itself (asyncpg under SQLAlchemy)."""
    if not value:
        return []
    return value if isinstance(value, list) else list(json.loads(value))
