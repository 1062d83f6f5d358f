"""`GET /accounts` as CSV: the same rows as the JSON list, streamed batch by batch."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio.to_thread

from app.accounts import service
from app.accounts.repository import AccountFilters
from app.auth.principal import Principal
from app.compliance import flags
from app.db import Database

COLUMNS = (
    "id", "force", "platform", "handle", "url", "display_name", "classification", "status",
    "is_anonymous", "unit_id", "owner_id", "owner_name", "review_due_on", "last_post_at",
    "flags", "legal_hold",
)  # fmt: skip
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: formula-like values get a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    return out.getvalue()


_PLAIN = tuple(c for c in COLUMNS if c != "flags")


def _values(row: Mapping[str, Any]) -> list[Any]:
    # owner_id and owner_name are empty where the caller may not see operators: the
    # statement redacts them (`app.auth.redaction`).
    values = {c: row[c] for c in _PLAIN}
    values["flags"] = ";".join(flags.flags_of(row))
    return [values[c] for c in COLUMNS]


def _lines(batch: list[Mapping[str, Any]]) -> str:
    return "".join(_line(_values(row)) for row in batch)


async def stream_csv(
    db: Database, principal: Principal, filters: AccountFilters, batch: int = 500
) -> AsyncIterator[str]:
    """Header, then one chunk per batch, read in one read-only transaction of its own (the
    request's session is closed before the body streams). Each batch is written out as CSV
    in a worker thread: 100,000 rows of it would hold the event loop for seconds."""
    yield _line(list(COLUMNS))
    session = db.session(write=False)
    try:
        rows: list[Mapping[str, Any]] = []
        async for row in service.export_rows(session, principal, filters, batch):
            rows.append(row)
            if len(rows) >= batch:
                yield await anyio.to_thread.run_sync(_lines, rows)
                rows = []
        if rows:
            yield await anyio.to_thread.run_sync(_lines, rows)
    finally:
        await session.close()
