from __future__ import annotations

import base64
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from app.accounts import service as accounts
from app.audit import repository, service
from app.audit.schemas import (
    AuditEventLeafRead,
    AuditEventRead,
    CheckpointRead,
    ConsistencyProofRead,
    InclusionProofRead,
    VerifyRead,
)
from app.audit.verifier import Checkpoint, leaf_hash
from app.auth import redaction
from app.auth.deps import ReadDatabase, Session, require_roles
from app.auth.principal import Principal
from app.errors import NotFound
from app.models import AuditCheckpoint, AuditEvent
from app.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_id, page_of
from app.public.ratelimit import public_rate_limit
from app.schemas import AUTH_ERRORS, Instant, errors

router = APIRouter(prefix="/audit", tags=["audit"])
public_router = APIRouter(
    prefix="/public", tags=["public"], dependencies=[Depends(public_rate_limit)]
)

Auditor = Annotated[Principal, Depends(require_roles("psd", "comms_admin", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Text = Annotated[str | None, Query(max_length=255)]
# Event ids and tree sizes: what fits a BIGINT.
Size = Annotated[int, Query(ge=0, le=2**62, description="A tree size (number of events).")]


def _account_id(event: AuditEvent) -> uuid.UUID | None:
    if event.entity_type != "account":
        return None
    try:
        return uuid.UUID(event.entity_id)
    except ValueError:
        return None


def _redacted(event: AuditEvent, principal: Principal, shown: set[uuid.UUID]) -> AuditEventRead:
    """The event as the caller may see it (`app.auth.redaction`): an account's events as
    its operators show to the caller; any other event as an anonymous account of its force
    would (so an operator never surfaces through a request, sign-off or person event)."""
    read = AuditEventRead.model_validate(event)
    account_id = _account_id(event)
    if account_id is not None:
        visible = account_id in shown
    else:
        visible = redaction.sees_operators(principal, event.force_id, True, False)
    if visible:
        return read
    return read.model_copy(
        update={
            "actor_sub": read.actor_sub if read.actor_sub == principal.sub else None,
            "entity_id": None if event.entity_type == "person" else read.entity_id,
            "changes": redaction.without_people(read.changes),
        }
    )


@router.get("", response_model=Page[AuditEventRead], responses=errors(*AUTH_ERRORS))
async def list_events(
    session: Session,
    principal: Auditor,
    entity_type: Text = None,
    entity_id: Text = None,
    actor: Text = None,
    action: Annotated[
        str | None, Query(max_length=255, description="e.g. `account.duplicate_refused`.")
    ] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AuditEventRead]:
    """A page of audit events, oldest first (force-scoped callers see their force's)."""
    after_id = cursor_id(cursor)
    rows = await repository.page(
        session,
        principal,
        entity_type=entity_type,
        entity_id=entity_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
        after_id=after_id,
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit, lambda e: [e.id])
    ids = {i for i in map(_account_id, items) if i is not None}
    shown = await accounts.operators_shown(session, principal, ids)
    reads = [_redacted(e, principal, shown) for e in items]
    if actor is not None or entity_id is not None:
        # A filter on a person must not find them where they would be redacted.
        reads = [r for r in reads if r.actor_sub is not None or actor is None]
        reads = [r for r in reads if r.entity_id is not None or entity_id is None]
    return Page[AuditEventRead](items=reads, next_cursor=next_cursor)


@router.get(
    "/verify",
    response_model=VerifyRead,
    responses=errors(*AUTH_ERRORS),
    operation_id="verify_audit_log",
)
async def verify(request: Request, db: ReadDatabase, principal: Auditor) -> VerifyRead:
    """Recompute the Merkle tree from every event in it, check every stored (and logged)
    checkpoint's signature and root, and name the first event or checkpoint that fails;
    `pending`: committed events the sequencer has not put in the tree yet."""
    result = await service.verify_log(db, request.app.state.settings, sequence_first=False)
    return VerifyRead.model_validate(result)


def _checkpoint_read(row: AuditCheckpoint) -> CheckpointRead:
    body = Checkpoint.parse(row.note.rsplit("\n\n", 1)[0] + "\n")
    return CheckpointRead(
        id=row.id,
        origin=body.origin,
        tree_size=row.tree_size,
        root_hash=base64.b64encode(bytes(row.root_hash)).decode(),
        note=row.note,
        created_at=row.created_at,
    )


def _wants_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/plain" in accept and "application/json" not in accept


_NOTE = {"text/plain": {"schema": {"type": "string"}}}


@router.get(
    "/checkpoint",
    response_model=CheckpointRead,
    responses={200: {"content": _NOTE}, **errors(*AUTH_ERRORS, 404)},
)
async def latest_checkpoint(request: Request, session: Session, principal: Auditor) -> Response:
    """The latest signed checkpoint: the C2SP signed note with `Accept: text/plain`,
    else `{origin, tree_size, root_hash, note}` as JSON."""
    row = await repository.latest_checkpoint(session)
    if row is None:
        raise NotFound("No checkpoint has been signed yet.", code="audit-checkpoint-not-found")
    if _wants_text(request):
        return PlainTextResponse(row.note)
    return Response(_checkpoint_read(row).model_dump_json(), media_type="application/json")


@router.get("/checkpoints", response_model=Page[CheckpointRead], responses=errors(*AUTH_ERRORS))
async def list_checkpoints(
    session: Session, principal: Auditor, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[CheckpointRead]:
    """Every signed checkpoint, oldest first."""
    after_id = cursor_id(cursor)
    rows = await repository.checkpoints_page(session, after_id, limit)
    items, next_cursor = page_of(rows, limit, lambda c: [c.id])
    return Page[CheckpointRead](items=[_checkpoint_read(c) for c in items], next_cursor=next_cursor)


@router.post(
    "/checkpoints",
    status_code=201,
    response_model=CheckpointRead,
    responses=errors(*AUTH_ERRORS, 409),
)
async def create_checkpoint(request: Request, db: ReadDatabase, principal: Admin) -> CheckpointRead:
    """Sequence every committed event, then sign and store a checkpoint of the tree
    (409 when no signing key is configured)."""
    row = await service.make_checkpoint(db, request.app.state.settings)
    return _checkpoint_read(row)


@router.get(
    "/events/{event_id}", response_model=AuditEventLeafRead, responses=errors(*AUTH_ERRORS, 404)
)
async def get_event(
    db: ReadDatabase,
    session: Session,
    principal: Auditor,
    event_id: Annotated[int, Path(ge=1, le=2**62)],
) -> AuditEventLeafRead:
    """One audit event with its leaf index, its leaf hash and, where the caller sees the
    event whole, its exact leaf bytes (base64), which a verifier hashes and checks against
    an inclusion proof. Where the event is redacted for the caller, so is the leaf: its
    hash alone still proves the event is in the log."""
    row, index, leaf = await service.event_with_leaf(db, principal, event_id)
    ids = {i for i in [_account_id(row)] if i is not None}
    shown = await accounts.operators_shown(session, principal, ids)
    read = _redacted(row, principal, shown)
    whole = read == AuditEventRead.model_validate(row)
    return AuditEventLeafRead.model_validate(
        {
            **read.model_dump(),
            "leaf_index": index,
            "leaf": base64.b64encode(leaf).decode() if whole else None,
            "leaf_hash": base64.b64encode(leaf_hash(leaf)).decode(),
        }
    )


@router.get(
    "/proof/inclusion", response_model=InclusionProofRead, responses=errors(*AUTH_ERRORS, 404)
)
async def inclusion_proof(
    db: ReadDatabase,
    principal: Auditor,
    event_id: Annotated[int, Query(ge=1, le=2**62)],
    tree_size: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="Default: the latest checkpoint's tree size."),
    ] = None,
) -> InclusionProofRead:
    """RFC 9162 inclusion proof of an event in the tree of `tree_size` events."""
    proof = await service.inclusion_proof(db, principal, event_id, tree_size)
    return InclusionProofRead.model_validate(proof)


@router.get(
    "/proof/consistency", response_model=ConsistencyProofRead, responses=errors(*AUTH_ERRORS, 404)
)
async def consistency_proof(
    db: ReadDatabase,
    principal: Auditor,
    first: Size,
    second: Annotated[
        int | None,
        Query(ge=0, le=2**62, description="Default: the latest checkpoint's tree size."),
    ] = None,
) -> ConsistencyProofRead:
    """RFC 9162 consistency proof: the tree of `second` events extends that of `first`."""
    proof = await service.consistency_proof(db, first, second)
    return ConsistencyProofRead.model_validate(proof)


@public_router.get(
    "/audit-key",
    response_class=PlainTextResponse,
    responses={200: {"content": _NOTE}, **errors(404, 429)},
)
async def audit_key(request: Request) -> PlainTextResponse:
    """The audit log's verifier key (C2SP signed-note form `name+keyid+key`): what checks
    every checkpoint's signature. No token needed."""
    signer = service.signer_of(request.app.state.settings)
    if signer is None:
        raise NotFound("No audit signing key is configured.", code="audit-key-not-found")
    return PlainTextResponse(str(signer.verifier) + "\n")
