"""Keyset pagination: opaque cursors over a stable sort key, never OFFSET."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Query
from pydantic import BaseModel

from app.errors import ValidationFailed

T = TypeVar("T")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size, 1 to 200 (default 50).")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="Opaque cursor from the previous page's `next_cursor`."),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([str(v) if v is not None else None for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[str | None] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != arity
        or not all(v is None or (isinstance(v, str) and "\x00" not in v) for v in values)
    ):
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    return values


def cursor_id(cursor: str | None) -> int | None:
    """The integer id a one-value cursor carries (None without a cursor). ASCII digits that
    fit a BIGINT column: str.isdigit() also passes "²", which int() refuses."""
    values = decode_cursor(cursor, 1)
    if values is None:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", values[0] or ""):
        raise ValidationFailed(
            "The cursor is not one this service issued.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    return int(values[0] or 0)


def cursor_instant(text: str | None) -> datetime:
    """An instant carried in a cursor, in UTC; ValueError if it is none this service
    issues (naive, or out of the calendar once in UTC: 9999-12-31T23:59:59-14:00)."""
    at = datetime.fromisoformat(text or "")
    if at.tzinfo is None:
        raise ValueError("naive instant")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise ValueError("instant out of range") from None


def after(columns: Sequence[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after `values` in ascending (columns...) order, as a row comparison."""
    return sa.tuple_(*columns) > sa.tuple_(*[sa.literal(v) for v in values])


def page_of(rows: Sequence[T], limit: int, key: Any) -> tuple[list[T], str | None]:
    """Trim a `limit + 1` fetch to a page and the cursor for the next one."""
    if len(rows) > limit:
        items = list(rows[:limit])
        return items, encode_cursor(key(items[-1]))
    return list(rows), None
