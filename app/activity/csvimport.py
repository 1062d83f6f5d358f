"""Parsing an activity CSV into validated rows or line-numbered errors (header = line 1)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from app.accounts.handles import HandleError, resolve
from app.activity.repository import FIGURES
from app.activity.schemas import ActivityIn
from app.errors import AppError, ValidationFailed
from app.imports.stream import NotUtf8, TooManyRows

COLUMNS = (
    "platform", "handle", "period_start", "period_end",
    "original_posts", "reposts", "replies", "followers", "last_post_at",
)  # fmt: skip
# Enough to fix a file; past it the answer would only grow, not help.
MAX_REPORTED_ERRORS = 1000


class NotCsv(AppError):
    code = "unsupported-media-type"
    status = 415
    title = "Unsupported media type"


class BadEncoding(ValidationFailed):
    code = "bad-encoding"
    title = "The file is not UTF-8 text"


class ImportRejected(ValidationFailed):
    code = "import-invalid"
    title = "The import has invalid rows; nothing was imported"


@dataclass(frozen=True)
class Row:
    line: int
    platform: str
    handle: str
    figures: ActivityIn
    # The figures as stored (`repository.FIGURES`), made while parsing, off the event loop.
    values: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, Any, Any]:
        return (self.platform, self.handle, self.figures.period_start, self.figures.period_end)


def error(line: int, field: str | None, msg: str) -> dict[str, Any]:
    return {"line": line, "field": field, "msg": msg}


def reject(errors: list[dict[str, Any]]) -> ImportRejected:
    errors.sort(key=lambda e: e["line"])
    shown = errors[:MAX_REPORTED_ERRORS]
    return ImportRejected(
        f"{len(errors)} error(s) in the file; nothing was imported.",
        errors=shown,
        error_count=len(errors),
    )


def check_media_type(content_type: str | None) -> None:
    media, *params = [part.strip() for part in (content_type or "").split(";")]
    if media.lower() != "text/csv":
        raise NotCsv("Send the file as text/csv.")
    for param in params:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise BadEncoding(
                "Only UTF-8 files are accepted.",
                errors=[error(1, None, f"charset {charset!r} is not UTF-8")],
            )


def _not_utf8(line: int) -> BadEncoding:
    return BadEncoding(
        f"The file is not valid UTF-8 (line {line}).",
        errors=[error(line, None, "not valid UTF-8")],
    )


def _header(names: list[str]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    cleaned = [n.strip().lower() for n in names]
    errors = []
    index: dict[str, int] = {}
    for i, name in enumerate(cleaned):
        if name not in COLUMNS:
            errors.append(error(1, name or None, f"unknown column {name!r}"))
        elif name in index:
            errors.append(error(1, name, "column given twice"))
        else:
            index[name] = i
    for name in COLUMNS:
        if name not in index:
            errors.append(error(1, name, "required column missing"))
    return index, errors


def _row(
    line: int, values: list[str], index: dict[str, int], now: datetime
) -> tuple[Row | None, list[dict[str, Any]]]:
    fields = {name: values[i].strip() for name, i in index.items()}
    errors = []
    platform = handle = ""
    try:
        parsed = resolve(url=None, platform=fields["platform"], handle=fields["handle"])
        platform, handle = parsed.platform, parsed.handle
    except HandleError as exc:
        errors.append(error(line, exc.field, exc.message))
    data: dict[str, Any] = {k: v for k, v in fields.items() if k not in ("platform", "handle")}
    if not data["last_post_at"]:
        data["last_post_at"] = None
    figures = None
    try:
        figures = ActivityIn.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc") or ()
            errors.append(error(line, str(loc[0]) if loc else None, str(err.get("msg"))[:300]))
    if figures is not None and figures.last_post_at is not None and figures.last_post_at > now:
        errors.append(error(line, "last_post_at", "is in the future"))
    if errors or figures is None:
        return None, errors
    stored = figures.model_dump(include=set(FIGURES))
    return Row(line=line, platform=platform, handle=handle, figures=figures, values=stored), []


def parse(
    lines: Iterable[str], now: datetime, max_rows: int
) -> tuple[list[Row], list[dict[str, Any]]]:
    """Every valid row, and an error for each bad one (all rows are always read).

    Raises TooManyRows at the first data row past `max_rows` (the rest is not read),
    BadEncoding at the first line that is not UTF-8."""
    try:
        return _parse(lines, now, max_rows)
    except NotUtf8 as exc:
        raise _not_utf8(exc.line) from None


def _parse(
    lines: Iterable[str], now: datetime, max_rows: int
) -> tuple[list[Row], list[dict[str, Any]]]:
    reader = csv.reader(lines, strict=True)
    errors: list[dict[str, Any]] = []
    rows: list[Row] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise reject([error(1, None, f"unreadable header: {exc}")]) from None
    if header is None:
        raise reject([error(1, None, "the file is empty; a header row is required")])
    index, header_errors = _header(header)
    if header_errors:
        raise reject(header_errors)
    seen: dict[tuple[str, str, Any, Any], int] = {}
    count = 0
    while True:
        start_line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(error(start_line, None, f"unreadable row: {exc}"))
            continue
        if not values or all(not v.strip() for v in values):
            continue
        count += 1
        if count > max_rows:
            raise TooManyRows(max_rows)
        if len(values) != len(header):
            errors.append(
                error(start_line, None, f"expected {len(header)} fields, found {len(values)}")
            )
            continue
        row, row_errors = _row(start_line, values, index, now)
        errors.extend(row_errors)
        if row is None:
            continue
        if row.key in seen:
            errors.append(
                error(start_line, "period_start", f"the same period as line {seen[row.key]}")
            )
            continue
        seen[row.key] = start_line
        rows.append(row)
    return rows, errors
