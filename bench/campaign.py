#!/usr/bin/env python
"""Benchmark of a review campaign over 10,000 accounts (not a test). One command:

    .venv/bin/python bench/campaign.py --db postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/campaign.py --db sqlite

It (re)creates its own database (`registry_bench_campaign` beside the one named, or
bench/results/registry_bench_campaign.db), migrates and seeds it (`app.seed`: one force,
10,000 accounts, a year of history), starts a real SMTP server (aiosmtpd, discarding
what it receives) in a process of its own and then, through the campaign services,
times: creating the campaign (the scope snapshot), reading its progress, the first run
of the reminders job (a notice to every owner, the orphaned accounts to the comms
admins), progress after 40 % of the owners attest, the seven-day reminders, the
escalation past the due day, the daily digests, and closing.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app import clock  # noqa: E402
from app.accounts.schemas import AccountFilter  # noqa: E402
from app.auth.principal import Principal  # noqa: E402
from app.campaigns import service  # noqa: E402
from app.campaigns.jobs import run_campaign_reminders  # noqa: E402
from app.campaigns.schemas import CampaignCreate  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import Database  # noqa: E402
from app.mail.digests import send_due_digests  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import Attestation, CampaignItem, Force, Person  # noqa: E402
from app.seed import seed  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DB_NAME = "registry_bench_campaign"


def database_url(db: str) -> str:
    if db == "sqlite":
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{DB_NAME}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = Settings(database_url=db).async_database_url

    async def recreate() -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
            await conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
        await engine.dispose()

    asyncio.run(recreate())
    return db.rsplit("/", 1)[0] + "/" + DB_NAME


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Timer:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    async def __call__(self, label: str, work: Any, note: Any = "") -> Any:
        began = time.perf_counter()
        result = await work
        seconds = time.perf_counter() - began
        text = note(result) if callable(note) else note
        self.rows.append((label, seconds, text))
        print(f"  {label:<48} {seconds * 1000:>9.1f} ms  {text}", flush=True)
        return result


async def run(url: str, accounts: int, port: int) -> None:
    settings = Settings(
        database_url=url, jwt_secret="bench-" + "x" * 40, log_level="WARNING",
        smtp_host="127.0.0.1", smtp_port=port, db_statement_timeout=0,
    )  # fmt: skip
    db = Database(settings)
    t = Timer()
    try:
        print(f"seeding {accounts:,} accounts…", flush=True)
        began = time.perf_counter()
        await seed(db, forces=1, accounts=accounts, months=12)
        print(f"  seeded in {time.perf_counter() - began:.1f} s", flush=True)
        async with db.session() as s:
            force = (await s.scalars(sa.select(Force))).one()
            lead = await s.scalar(
                sa.select(Person).where(
                    Person.force_id == force.id, Person.subject.is_not(None),
                    Person.status == "active", Person.email.is_not(None),
                ).limit(1)
            )  # fmt: skip
            assert lead is not None and lead.subject is not None
        comms = Principal(
            sub=lead.subject, name=lead.name, roles=frozenset({"comms_admin"}),
            force=force.code, force_id=force.id,
        )  # fmt: skip
        body = CampaignCreate(
            name="Annual review", filter=AccountFilter(),
            due_on=clock.today() + timedelta(days=14), message="Please attest.",
        )  # fmt: skip
        async with db.session() as s:
            campaign = await t(
                "create (snapshot of the scope)", service.create(s, comms, body),
                lambda c: f"{c.total:,} items",
            )  # fmt: skip
            await s.commit()
        async with db.session() as s:
            await t(
                "progress (JSON)", service.read(s, comms, campaign.id),
                lambda v: str(v.progress.by_status),
            )  # fmt: skip
        async with db.session() as s:
            await t(
                "reminders job: notices + orphans escalated",
                run_campaign_reminders(s, clock.now()),
                lambda r: str(r),
            )  # fmt: skip
            await s.commit()
        # 40 % of the owners attest (written straight to the table: the bench times the
        # campaign, not 4,000 HTTP calls).
        async with db.session() as s:
            items = (
                await s.execute(
                    sa.select(
                        CampaignItem.account_id, CampaignItem.owner_id, CampaignItem.force_id
                    ).where(
                        CampaignItem.campaign_id == campaign.id, CampaignItem.status == "pending"
                    )
                )
            ).all()
            attest = [i for n, i in enumerate(items) if n % 5 < 2]
            now = clock.now() + timedelta(seconds=1)
            await s.execute(
                sa.insert(Attestation),
                [{"force_id": i.force_id, "account_id": i.account_id, "person_id": i.owner_id,
                  "still_needed": True, "at": now} for i in attest],
            )  # fmt: skip
            await s.commit()
        clock.freeze(clock.now() + timedelta(days=7, seconds=5))
        async with db.session() as s:
            await t(
                "progress after 40 % attested", service.read(s, comms, campaign.id),
                lambda v: str(v.progress.by_status),
            )  # fmt: skip
        async with db.session() as s:
            await t(
                "progress as CSV",
                _csv(s, comms, campaign.id),
                lambda text: f"{text.count(chr(10)) - 1} unit lines",
            )  # fmt: skip
        async with db.session() as s:
            await t(
                "reminders job: 7 days before", run_campaign_reminders(s, clock.now()),
                lambda r: str(r),
            )  # fmt: skip
            await s.commit()
        clock.freeze(clock.now() + timedelta(days=8))
        async with db.session() as s:
            await t(
                "reminders job: past due (escalation)", run_campaign_reminders(s, clock.now()),
                lambda r: str(r),
            )  # fmt: skip
            await s.commit()
        async with db.session() as s:
            await t(
                "daily digests (every operator, comms admins)",
                send_due_digests(s, clock.now()),
                lambda r: str(r),
            )  # fmt: skip
            await s.commit()
        async with db.session() as s:
            await t(
                "close (records the result)", service.close(s, comms, campaign.id),
                lambda v: str(v.result.by_status if v.result else None),
            )  # fmt: skip
            await s.commit()
    finally:
        clock.freeze(None)
        await db.dispose()


async def _csv(s: Any, comms: Principal, campaign_id: Any) -> str:
    return service.progress_csv(await service.read(s, comms, campaign_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a postgresql:// URL")
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    url = database_url(args.db)
    upgrade(Settings(database_url=url).async_database_url)
    print(f"campaign benchmark on {url.split('://')[0]}", flush=True)
    port = free_port()
    # The relay in a process of its own (as a real one is): in this process its thread
    # would take turns with the sender under the GIL, several times per message.
    relay = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(run(url, args.accounts, port))
    finally:
        relay.terminate()
        relay.wait(timeout=10)


if __name__ == "__main__":
    main()
