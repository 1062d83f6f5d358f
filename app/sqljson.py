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


def _spell(construct: type[FunctionElement[str]], postgresql: str, sqlite: str) -> None:
    """Compile `construct(args)` as `postgresql(args)`, or `sqlite(args)` on SQLite."""

    def render(name: str) -> Any:
        def compile_(element: FunctionElement[str], compiler: Any, **kw: Any) -> str:
            return f"{name}({compiler.process(element.clauses, **kw)})"

        return compile_

    compiles(construct)(render(postgresql))
    compiles(construct, "sqlite")(render(sqlite))


_spell(json_array_agg, "json_agg", "json_group_array")
_spell(json_array, "json_build_array", "json_array")


def loads_list(value: str | list[Any] | None) -> list[Any]:
    """The aggregate's value as a list: JSON text, or already decoded where the driver
    connection decodes `json` itself (asyncpg under SQLAlchemy)."""
    if not value:
        return []
    return value if isinstance(value, list) else list(json.loads(value))
