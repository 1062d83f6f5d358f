"""Reading an accounts CSV into checked rows: everything that needs no database.

Line numbers are physical lines of the file (the header is line 1); a record with a quoted
multi-line field is reported at the line it starts on.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.accounts.handles import HandleError, resolve
from app.imports.stream import NotUtf8, TooManyRows
from app.models.enums import ACCOUNT_STATUSES, CLASSIFICATIONS, RELEASED_STATUSES

MAX_ERRORS = 1_000
COLUMNS = (
    "url", "platform", "handle", "display_name", "classification", "status",
    "owner_staff_id", "unit", "objectives", "is_anonymous",
)  # fmt: skip
REQUIRED = ("display_name", "classification")
IMPORTABLE_STATUSES = tuple(s for s in ACCOUNT_STATUSES if s not in RELEASED_STATUSES)
DEFAULT_STATUS = "active"
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f", ""})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # newlines and tabs too: one-line fields
_LIMITS = {"display_name": 200, "owner_staff_id": 64, "unit": 200, "objectives": 6_500}


@dataclass
class Row:
    line: int
    platform: str
    handle: str
    url: str
    display_name: str
    classification: str
    status: str
    is_anonymous: bool
    owner_staff_id: str | None
    unit: str | None
    objectives: list[str] = field(default_factory=list)


class Errors:
    """Every problem found, as `{"line", "field", "msg"}`; at most MAX_ERRORS are kept."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.count = 0
        self.bad_lines: set[int] = set()

    def add(self, line: int, column: str | None, msg: str) -> None:
        self.count += 1
        self.bad_lines.add(line)
        if len(self.items) < MAX_ERRORS:
            self.items.append({"line": line, "field": column, "msg": msg})

    def __bool__(self) -> bool:
        return self.count > 0


def _header(names: list[str], errors: Errors) -> list[str] | None:
    header = [n.strip().lower() for n in names]
    seen: set[str] = set()
    for name in header:
        if name not in COLUMNS:
            errors.add(1, name, f"Unknown column; the columns are: {', '.join(COLUMNS)}.")
        elif name in seen:
            errors.add(1, name, "This column appears twice.")
        seen.add(name)
    if "url" not in seen and not {"platform", "handle"} <= seen:
        errors.add(1, "url", "Give a url column, or platform and handle columns.")
    for name in REQUIRED:
        if name not in seen:
            errors.add(1, name, "This required column is missing.")
    return None if errors else header


def _text(line: int, column: str, value: str, errors: Errors) -> str | None:
    if _CONTROL.search(value):
        errors.add(line, column, "Contains control characters.")
        return None
    limit = _LIMITS.get(column)
    if limit is not None and len(value) > limit:
        errors.add(line, column, f"Longer than {limit} characters.")
        return None
    return value


def _choice(
    line: int, column: str, value: str, allowed: tuple[str, ...], errors: Errors
) -> str | None:
    if value.lower() in allowed:
        return value.lower()
    if column == "status" and value.lower() in RELEASED_STATUSES:
        errors.add(line, column, f"An import registers live accounts: use {', '.join(allowed)}.")
    else:
        errors.add(line, column, f"{value[:40]!r} is not one of: {', '.join(allowed)}.")
    return None


def _row(line: int, cells: dict[str, str], errors: Errors) -> Row | None:
    before = errors.count
    for column, value in cells.items():
        _text(line, column, value, errors)
    if errors.count > before:
        return None
    try:
        parsed = resolve(
            url=cells.get("url"), platform=cells.get("platform"), handle=cells.get("handle")
        )
    except HandleError as err:
        errors.add(line, err.field, err.message)
        parsed = None
    display_name = cells.get("display_name", "")
    if not display_name:
        errors.add(line, "display_name", "The display name is empty.")
    classification = _choice(
        line, "classification", cells.get("classification", ""), CLASSIFICATIONS, errors
    )
    status = _choice(
        line, "status", cells.get("status") or DEFAULT_STATUS, IMPORTABLE_STATUSES, errors
    )
    flag = cells.get("is_anonymous", "").lower()
    if flag not in _TRUE | _FALSE:
        errors.add(line, "is_anonymous", "Must be true or false (yes/no, 1/0 also accepted).")
    objectives = [c.strip() for c in cells.get("objectives", "").split(";") if c.strip()]
    if errors.count > before or parsed is None or classification is None or status is None:
        return None
    return Row(
        line=line,
        platform=parsed.platform,
        handle=parsed.handle,
        url=parsed.url,
        display_name=display_name,
        classification=classification,
        status=status,
        is_anonymous=flag in _TRUE,
        owner_staff_id=cells.get("owner_staff_id") or None,
        unit=cells.get("unit") or None,
        objectives=list(dict.fromkeys(objectives)),
    )


def parse(lines: Iterable[str], errors: Errors, max_rows: int) -> list[Row]:
    """The rows of the file that pass every check that needs no database.

    Raises TooManyRows at the first data row past `max_rows` (the rest is not read)."""
    reader = csv.reader(lines, strict=True)
    line = 1
    try:
        names = next(reader, None)
        if not names:
            errors.add(1, None, "The file is empty; the first line must name the columns.")
            return []
        header = _header(names, errors)
        if header is None:
            return []
        rows: list[Row] = []
        first_seen: dict[tuple[str, str], int] = {}
        count = 0
        line = reader.line_num + 1
        while True:
            try:
                record = next(reader, None)
            except csv.Error as exc:
                errors.add(line, None, f"Not readable as CSV: {exc}.")
                return rows
            if record is None:
                return rows
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            count += 1
            if count > max_rows:
                raise TooManyRows(max_rows)
            if len(record) != len(header):
                errors.add(start, None, f"Expected {len(header)} fields, found {len(record)}.")
                continue
            cells = {k: v.strip() for k, v in zip(header, record, strict=True)}
            row = _row(start, cells, errors)
            if row is None:
                continue
            key = (row.platform, row.handle)
            if key in first_seen:
                errors.add(start, "handle", f"Duplicate of line {first_seen[key]} in this file.")
                continue
            first_seen[key] = start
            rows.append(row)
    except csv.Error as exc:  # the header line
        errors.add(1, None, f"Not readable as CSV: {exc}.")
        return []
    except NotUtf8 as exc:
        errors.add(exc.line, None, "The file is not UTF-8 text (save it as CSV UTF-8).")
        return []
