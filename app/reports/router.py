from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.accounts.schemas import Flag
from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.models.enums import ACCOUNT_STATUSES, CLASSIFICATIONS, FLAGS, PLATFORMS
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, encode_cursor
from app.reports import service
from app.reports.schemas import ComplianceItem, ForceSummary, SummaryRead
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(prefix="/reports", tags=["reports"])

Reader = Annotated[Principal, Depends(require_roles("comms_admin", "psd", "auditor", "admin"))]
ForceQuery = Annotated[
    str | None,
    Query(max_length=40, description="Narrow a national caller to one force (code)."),
]
FlagQuery = Annotated[Flag | None, Query(description="Only accounts raising this flag.")]
CSV_TYPE = "text/csv; charset=utf-8"


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    out = errors(*statuses)
    out[200] = {"content": {"text/csv": {"schema": {"type": "string"}}}}
    return out


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


def _cell(value: Any) -> Any:
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _csv_lines(rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def _summary_csv(forces: list[ForceSummary]) -> str:
    groups = (
        ("platform", "by_platform", PLATFORMS),
        ("classification", "by_classification", CLASSIFICATIONS),
        ("status", "by_status", ACCOUNT_STATUSES),
        ("flag", "by_flag", FLAGS),
    )
    header = ["force", "name", "total", "live", "compliance_rate"]
    header += [f"{prefix}_{key}" for prefix, _, keys in groups for key in keys]
    rows: list[list[Any]] = [header]
    for f in forces:
        row: list[Any] = [f.force, f.name, f.total, f.live, f.compliance_rate]
        row += [getattr(f, attr)[key] for _, attr, keys in groups for key in keys]
        rows.append(row)
    return _csv_lines(rows)


_COMPLIANCE_HEADER = [
    "id", "force", "platform", "handle", "url", "display_name", "classification", "status",
    "owner_id", "owner_name", "review_due_on", "last_post_at", "flags", "why",
]  # fmt: skip


def _compliance_row(item: ComplianceItem) -> list[Any]:
    owner = item.owner
    return [
        item.id, item.force, item.platform, item.handle, item.url, item.display_name,
        item.classification, item.status, owner.id if owner else None,
        owner.name if owner else None, item.review_due_on,
        item.last_post_at.isoformat() if item.last_post_at else None,
        ";".join(item.flags), " ".join(item.why[f] for f in item.flags),
    ]  # fmt: skip


def _compliance_csv(items: list[ComplianceItem]) -> str:
    return _csv_lines(_compliance_row(item) for item in items)


@router.get(
    "/summary",
    response_model=SummaryRead,
    responses=_responses(*AUTH_ERRORS, 404),
    operation_id="summary_report",
)
async def summary(
    request: Request, session: Session, principal: Reader, force: ForceQuery = None
) -> Any:
    """Counts per force; compliance_rate = live accounts raising no flag / live accounts."""
    parts = request.app.state.settings.report_parallelism
    db = request.app.state.db
    forces, as_of = await service.summary_as_of(session, db, principal, force, parts)
    if _wants_csv(request):
        return Response(
            _summary_csv(forces),
            media_type=CSV_TYPE,
            headers={"Content-Disposition": 'attachment; filename="summary.csv"'},
        )
    return SummaryRead(forces=forces, as_of=as_of)


_CSV_ONLY: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The summary as CSV.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/summary.csv",
    response_class=Response,
    responses={**errors(*AUTH_ERRORS, 404), **_CSV_ONLY},
    operation_id="summary_report_csv",
)
async def summary_csv(
    request: Request, session: Session, principal: Reader, force: ForceQuery = None
) -> Response:
    """The summary report as CSV, whatever the `Accept` (for generated clients, whose
    summary_report reads JSON)."""
    parts = request.app.state.settings.report_parallelism
    forces = await service.summary(session, request.app.state.db, principal, force, parts)
    return Response(
        _summary_csv(forces),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": 'attachment; filename="summary.csv"'},
    )


@router.get(
    "/compliance",
    response_model=Page[ComplianceItem],
    responses=_responses(*AUTH_ERRORS, 404),
    operation_id="compliance_report",
)
async def compliance(
    request: Request,
    session: Session,
    principal: Reader,
    force: ForceQuery = None,
    flag: FlagQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    """Live accounts raising flags, each with its flags and why (CSV: every row, streamed)."""
    if _wants_csv(request):
        force_id = await service.compliance_scope(session, principal, force, flag)
        db = request.app.state.db

        async def lines() -> AsyncIterator[str]:
            yield _csv_lines([_COMPLIANCE_HEADER])
            async for chunk in service.compliance_stream(db, principal, force_id, flag):
                yield await anyio.to_thread.run_sync(_compliance_csv, chunk)

        return StreamingResponse(
            lines(),
            media_type=CSV_TYPE,
            headers={"Content-Disposition": 'attachment; filename="compliance.csv"'},
        )
    items, last = await service.compliance_page(
        session, principal, force, flag, decode_cursor(cursor, 1), limit
    )
    next_cursor = encode_cursor([last]) if last is not None else None
    return Page[ComplianceItem](items=items, next_cursor=next_cursor)
