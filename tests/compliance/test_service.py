from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

from app import clock
from app.compliance.explain import reasons
from app.compliance.flags import flag_columns, flag_expression, flags_of
from app.models import Account
from tests.factories import (
    make_account,
    make_activity,
    make_force,
    make_guideline,
    make_person,
)

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = T.date()


@contextlib.contextmanager
def statements(db):
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def _many_accounts(session, force, n: int) -> None:
    """n accounts; every third one last posted 100 days ago, the rest yesterday."""
    rows = [
        {
            "force_id": force.id,
            "platform": "x",
            "handle": f"many{i}",
            "classification": "official",
            "status": "active",
            "last_post_at": T - timedelta(days=100 if i % 3 == 0 else 1),
            "created_at": T - timedelta(days=400),
        }
        for i in range(n)
    ]
    await session.execute(sa.insert(Account), rows)
    await session.commit()


async def test_reasons_explain_each_raised_flag(session):
    clock.freeze(T)
    force = await make_force(session, dormancy_days=30, signoff_grace_days=0)
    owner = await make_person(session, force, name="Pat Owner", status="left")
    editor = await make_person(session, force, name="Eddie Editor")
    account = await make_account(
        session,
        force,
        owner=owner,
        editors=(editor,),
        last_post_at=T - timedelta(days=45),
        review_due_on=TODAY - timedelta(days=3),
    )
    await make_activity(session, account, TODAY - timedelta(days=30), TODAY, reposts=20)
    await make_guideline(session, code="conduct", version=2, effective_from=T - timedelta(days=2))
    healthy = await make_account(session, force, classification="unofficial")
    why = await reasons(session, [account.id, healthy.id], clock.now(), named={account.id})
    unnamed = await reasons(session, [account.id], clock.now())
    await session.commit()
    mine = why[account.id]
    assert set(mine) == {
        "dormant",
        "broadcast_only",
        "repost_heavy",
        "orphaned",
        "guidelines_outstanding",
        "no_strategy_link",
        "review_overdue",
    }
    assert (
        mine["dormant"] == f"No post since {(T - timedelta(days=45)).date()} (more than 30 days)."
    )
    assert "0 of 20 items" in mine["broadcast_only"]
    assert "20 of 20 items (100.0 %)" in mine["repost_heavy"]
    assert mine["orphaned"] == "The owner, Pat Owner, has left."
    assert "Eddie Editor (editor) has not signed conduct v2" in mine["guidelines_outstanding"]
    assert "Pat Owner" not in mine["guidelines_outstanding"]  # leavers are not asked to sign
    assert mine["review_overdue"].startswith(f"Review was due on {TODAY - timedelta(days=3)}")
    assert set(why[healthy.id]) == {"unsanctioned", "orphaned"}
    # Where the caller may not see the operators, the reasons name no one.
    hidden = unnamed[account.id]
    assert hidden["orphaned"] == "The owner has left."
    assert "An editor has not signed conduct v2" in hidden["guidelines_outstanding"]
    assert not any("Pat Owner" in t or "Eddie Editor" in t for t in hidden.values())


async def test_flag_filter_is_one_statement_over_thousands_of_accounts(session, db):
    clock.freeze(T)
    force = await make_force(session, dormancy_days=90)
    await _many_accounts(session, force, 3000)
    query = sa.select(Account.id).where(flag_expression("dormant", clock.now()))
    with statements(db) as seen:
        dormant = (await session.execute(query)).all()
    await session.commit()
    assert len(dormant) == 1000
    assert len(seen) == 1
    listing = sa.select(Account.id, *flag_columns(clock.now())).order_by(Account.id)
    with statements(db) as seen:
        rows = (await session.execute(listing)).all()
    await session.commit()
    assert sum("dormant" in flags_of(r._mapping) for r in rows) == 1000
    assert len(seen) == 1


async def test_reasons_use_a_few_statements_per_chunk_not_one_per_account(session, db):
    clock.freeze(T)
    force = await make_force(session, dormancy_days=90)
    await _many_accounts(session, force, 1200)
    ids = list((await session.scalars(sa.select(Account.id))).all())
    with statements(db) as seen:
        why = await reasons(session, ids, clock.now())
    await session.commit()
    assert sum("dormant" in w for w in why.values()) == 400
    assert len(seen) <= 3 * 4  # three chunks of 500, at most four statements each


class Explain(Executable, ClauseElement):
    """`EXPLAIN <statement>` with the statement's binds processed as usual."""

    inherit_cache = False

    def __init__(self, statement, prefix: str) -> None:
        self.statement = statement
        self.prefix = prefix


@compiles(Explain)
def _explain(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"{element.prefix} {compiler.process(element.statement, **kw)}"


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


async def test_the_dormant_filter_reads_forces_once_not_once_per_account(session, db):
    clock.freeze(T)
    force = await make_force(session, dormancy_days=90)
    await _many_accounts(session, force, 3000)
    # An untyped column, so that the plan's rows are not read as account ids.
    query = (
        sa.select(sa.literal_column("accounts.id"))
        .select_from(Account.__table__)
        .where(flag_expression("dormant", clock.now()))
    )
    if db.is_sqlite:
        plan = (await session.execute(Explain(query, "EXPLAIN QUERY PLAN"))).all()
        text = " | ".join(str(r[-1]) for r in plan)
        assert "SCAN accounts" in text
        assert "LIST SUBQUERY" in text and "forces" in text  # evaluated once, as a list
    else:
        await session.execute(sa.text("ANALYZE accounts"))
        explain = Explain(query, "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)")
        [[raw]] = (await session.execute(explain)).all()
        plan = raw if isinstance(raw, list) else json.loads(raw)
        nodes = _nodes(plan[0]["Plan"])
        scans = {n["Relation Name"]: n for n in nodes if "Relation Name" in n}
        assert set(scans) == {"accounts", "forces"}
        # The force settings are read in one pass (a join), not in a loop per account.
        assert scans["forces"]["Actual Loops"] == 1
        assert plan[0]["Plan"]["Actual Rows"] == 1000
    await session.commit()
