"""Factory functions: `await make_account(session, force, **overrides)`. Each commits."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.models import (
    Account,
    AccountObjective,
    ActivityPeriod,
    Custodianship,
    Force,
    Guideline,
    Objective,
    Person,
    Signoff,
    Unit,
)

_seq = itertools.count(1)


def force_uuid(code: str) -> uuid.UUID:
    # Stable per code, so a long-running test server's force cache stays right
    # after the tables are emptied between tests.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"registry-test-force:{code}")


async def _save(session: AsyncSession, obj: Any) -> Any:
    session.add(obj)
    await session.commit()
    return obj


async def make_force(session: AsyncSession, code: str = "staffs", **kw: Any) -> Force:
    kw.setdefault("name", f"{code.title()} Police")
    return await _save(session, Force(id=force_uuid(code), code=code, **kw))


async def make_unit(session: AsyncSession, force: Force, **kw: Any) -> Unit:
    kw.setdefault("name", f"Unit {next(_seq)}")
    kw.setdefault("kind", "neighbourhood_team")
    return await _save(session, Unit(force_id=force.id, **kw))


async def make_person(session: AsyncSession, force: Force, **kw: Any) -> Person:
    n = next(_seq)
    kw.setdefault("staff_id", f"S{n:05d}")
    kw.setdefault("name", f"Person {n}")
    kw.setdefault("email", f"person{n}@{force.code}.police.uk")
    return await _save(session, Person(force_id=force.id, **kw))


async def make_objective(session: AsyncSession, force: Force, **kw: Any) -> Objective:
    n = next(_seq)
    kw.setdefault("code", f"OBJ{n}")
    kw.setdefault("title", f"Objective {n}")
    return await _save(session, Objective(force_id=force.id, **kw))


async def make_account(
    session: AsyncSession,
    force: Force,
    *,
    owner: Person | None = None,
    editors: tuple[Person, ...] = (),
    objectives: tuple[Objective, ...] = (),
    since: datetime | None = None,
    **kw: Any,
) -> Account:
    n = next(_seq)
    kw.setdefault("platform", "x")
    kw.setdefault("handle", f"{force.code[:6]}acct{n}")
    kw.setdefault("url", f"https://x.com/{kw['handle']}")
    kw.setdefault("display_name", f"Account {n}")
    kw.setdefault("classification", "official")
    kw.setdefault("status", "active")
    if since is not None:
        kw.setdefault("created_at", since)
    account = Account(force_id=force.id, owner_id=owner.id if owner else None, **kw)
    session.add(account)
    await session.flush()
    start = since or clock.now()
    if owner is not None:
        session.add(
            Custodianship(
                force_id=force.id,
                account_id=account.id,
                person_id=owner.id,
                role="owner",
                valid_from=start,
            )
        )
    for editor in editors:
        session.add(
            Custodianship(
                force_id=force.id,
                account_id=account.id,
                person_id=editor.id,
                role="editor",
                valid_from=start,
            )
        )
    for objective in objectives:
        session.add(AccountObjective(account_id=account.id, objective_id=objective.id))
    await session.commit()
    return account


async def make_guideline(session: AsyncSession, force: Force | None = None, **kw: Any) -> Guideline:
    kw.setdefault("code", "social-media")
    kw.setdefault("version", 1)
    kw.setdefault("title", "Social media guidelines")
    kw.setdefault("document_url", "https://intranet.example/guidelines.pdf")
    kw.setdefault("sha256", hashlib.sha256(f"{kw['code']}{kw['version']}".encode()).hexdigest())
    kw.setdefault("effective_from", clock.now() - timedelta(days=1))
    return await _save(session, Guideline(force_id=force.id if force else None, **kw))


async def sign(session: AsyncSession, person: Person, guideline: Guideline) -> Signoff:
    return await _save(
        session,
        Signoff(
            force_id=person.force_id,
            guideline_id=guideline.id,
            person_id=person.id,
            version=guideline.version,
            sha256=guideline.sha256,
        ),
    )


async def make_activity(
    session: AsyncSession, account: Account, start: date, end: date, **kw: Any
) -> ActivityPeriod:
    for field in ("original_posts", "reposts", "replies", "followers"):
        kw.setdefault(field, 0)
    return await _save(
        session,
        ActivityPeriod(
            force_id=account.force_id,
            account_id=account.id,
            period_start=start,
            period_end=end,
            **kw,
        ),
    )


async def make_hold(session: AsyncSession, account: Account, **kw: Any) -> Any:
    """An unreleased legal hold on `account` (its `legal_hold` flag set to match)."""
    from app.models import LegalHold

    kw.setdefault("case_reference", f"PSD/{next(_seq)}")
    kw.setdefault("reason", "Preserve for an investigation.")
    kw.setdefault("placed_by", "psd@test")
    hold = LegalHold(force_id=account.force_id, account_id=account.id, **kw)
    session.add(hold)
    account.legal_hold = True
    await session.commit()
    return hold


async def make_attestation(
    session: AsyncSession, account: Account, person: Person, **kw: Any
) -> Any:
    from app.models import Attestation

    kw.setdefault("still_needed", True)
    kw.setdefault("review_due_on", clock.today() + timedelta(days=365))
    return await _save(
        session,
        Attestation(force_id=account.force_id, account_id=account.id, person_id=person.id, **kw),
    )


async def make_request(
    session: AsyncSession,
    account: Account,
    *,
    requested_by: str = "requester@test",
    kind: str = "decommission",
    details: dict[str, Any] | None = None,
    reason: str = "Opened by a test.",
) -> Any:
    """A submitted request opened through the workflow service (checklist and audit
    included), as if `requested_by` had submitted it."""
    from app.auth.principal import Principal
    from app.workflows import service as workflows

    if details is None:
        details = {"reason_code": "other"} if kind == "decommission" else {}
    principal = Principal(
        sub=requested_by,
        name=None,
        roles=frozenset({"comms_admin"}),
        force=None,
        force_id=account.force_id,
    )
    request = await workflows.open_request(
        session, principal, kind=kind, account=account, reason=reason, details=details
    )
    await session.commit()
    return request


@contextlib.contextmanager
def statements_run(db: Any) -> Iterator[list[str]]:
    """The SQL statements the database runs while the block runs, whichever path runs
    them: through SQLAlchemy (sessions, SQLite reads) or `Database.fetch` on PostgreSQL."""
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    fetch = db.fetch

    async def counted_fetch(statement: Any, params: Any) -> Any:
        if not db.is_sqlite:
            seen.append(str(statement))
        return await fetch(statement, params)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", on_execute)
    db.fetch = counted_fetch
    try:
        yield seen
    finally:
        del db.fetch
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", on_execute)


async def make_webhook(session: AsyncSession, force: Force | None, **kw: Any) -> Any:
    """A webhook of `force` (None: national) with one delivery of one event; returns
    (webhook, delivery)."""
    from app.models import OutboxEvent, Webhook, WebhookDelivery

    now = clock.now()
    kw.setdefault("url", f"https://hooks.example.org/{next(_seq)}")
    kw.setdefault("event_types", ["*"])
    kw.setdefault("secret", "whsec_" + "A" * 43 + "=")
    kw.setdefault("created_by", "comms_admin@test")
    hook = Webhook(force_code=force.code if force else None, **kw)
    event = OutboxEvent(
        id=uuid.uuid4(), type="hold.placed", force_code=force.code if force else None,
        subject={"account_id": str(uuid.uuid4())}, data={}, created_at=now, routed_at=now,
    )  # fmt: skip
    session.add_all([hook, event])
    await session.flush()
    delivery = WebhookDelivery(
        webhook_id=hook.id, event_id=event.id, status="dead", attempts=3, created_at=now,
        next_attempt_at=now, retry_until=now,
    )  # fmt: skip
    session.add(delivery)
    await session.commit()
    return hook, delivery
