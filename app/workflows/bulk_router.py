"""`POST /requests/bulk`: one request per account a filter of `GET /accounts` matches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route

from app.auth.deps import Session, require_roles
from app.auth.principal import Principal
from app.errors import AppError
from app.idempotency import IdempotencyKey, fingerprint, idempotent
from app.schemas import AUTH_ERRORS, errors
from app.workflows import bulk
from app.workflows.bulk_schemas import BulkCreate, BulkResult, BulkSkip

router = APIRouter(prefix="/requests", tags=["requests"])

Decider = Annotated[Principal, Depends(require_roles("comms_admin", "admin"))]


def _result(outcome: bulk.BulkOutcome) -> BulkResult:
    skipped = [BulkSkip(account_id=a, reason=r) for a, r in outcome.skipped]  # type: ignore[arg-type]
    if outcome.dry_run:
        return BulkResult(
            dry_run=True, would_open=len(outcome.account_ids), account_ids=outcome.account_ids,
            skipped=skipped,
        )  # fmt: skip
    return BulkResult(
        dry_run=False, opened=len(outcome.request_ids), request_ids=outcome.request_ids,
        account_ids=outcome.account_ids, skipped=skipped,
    )  # fmt: skip


@router.post(
    "/bulk",
    status_code=201,
    response_model=BulkResult,
    responses={
        200: {"model": BulkResult, "description": "The dry run: what would open."},
        **errors(*AUTH_ERRORS, 404, 409),
    },
)
async def submit_bulk_requests(
    body: BulkCreate,
    request: Request,
    session: Session,
    principal: Decider,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Open a decommission or transfer request for every account the filter matches
    (comms_admin for their force, admin), all or nothing; `dry_run` first. Accounts with a
    request open, under a legal hold, or that the kind does not fit are skipped. Each
    request is decided on its own, four eyes and all. More than `REGISTRY_BULK_MAX_REQUESTS`
    → 422 `too-many-accounts`."""
    cap = request.app.state.settings.bulk_max_requests

    async def run() -> tuple[BulkResult, str]:
        outcome = await bulk.bulk_open(session, principal, body, cap)
        return _result(outcome), "/api/v1/requests?mine=true"

    status = 200 if body.dry_run else 201
    return await idempotent(
        session, principal, key, fingerprint("requests/bulk", body), run, status_code=status
    )


class BulkMethodNotAllowed(AppError):
    code = "method-not-allowed"
    status = 405
    title = "Method not allowed"

    def __init__(self) -> None:
        super().__init__("`/requests/bulk` takes POST only.")
        self.headers["Allow"] = "POST"


async def _post_only(_request: Request) -> None:
    raise BulkMethodNotAllowed()


# `/requests/bulk` is a path of its own, not the request `bulk`: other methods are 405
# here rather than falling through to `GET /requests/{request_id}` (a 422 for the id).
router.routes.append(
    Route(
        "/requests/bulk",
        _post_only,
        methods=["GET", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
)
