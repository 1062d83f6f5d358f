"""The site in a real browser: Debian's chromium (`apt-get install chromium`, launched by
its path: no browser download) driven by Playwright against real uvicorn servers on the
test database, seeded here. Marked `browser`: deselected by the default `pytest`, run by
`pytest -m browser tests/browser` (the CI step "browser tests (SQLite and PostgreSQL)")."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.config import Settings
from app.db import Database
from app.migrate import run_on
from tests.conftest import _empty_all_tables, serve
from tests.factories import make_account, make_force

CHROMIUM = os.environ.get("REGISTRY_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"  # git-ignored; the run writes every state

ACCOUNTS = [
    ("staffs", "x", "staffspolice", "corporate", "active", "Staffordshire Police"),
    ("staffs", "x", "staffspoldogs", "official", "active", "Staffs Police Dogs"),
    ("staffs", "facebook", "staffordshirepolice", "corporate", "active", "Staffordshire Police"),
    ("wmids", "x", "wmpolice", "corporate", "active", "West Midlands Police"),
    ("staffs", "x", "staffspolicehq", "unofficial", "active", "Never shown"),
]


async def _seed(settings: Settings) -> None:
    db = Database(settings)
    async with db.engine.begin() as conn:
        await run_on(conn, "upgrade", "head")
    await _empty_all_tables(db)
    session = db.session()
    try:
        forces = {
            "staffs": await make_force(session, "staffs", name="Staffordshire Police"),
            "wmids": await make_force(session, "wmids", name="West Midlands Police"),
        }
        for code, platform, handle, classification, status, name in ACCOUNTS:
            host = "x.com" if platform == "x" else f"www.{platform}.com"
            await make_account(
                session, forces[code], platform=platform, handle=handle, display_name=name,
                classification=classification, status=status, url=f"https://{host}/{handle}",
            )  # fmt: skip
    finally:
        await session.close()
    await db.dispose()


async def _empty(settings: Settings) -> None:
    db = Database(settings)
    await _empty_all_tables(db)
    await db.dispose()


@pytest.fixture(scope="module")
async def site(settings: Settings) -> AsyncIterator[dict[str, str]]:
    """Two servers on the seeded database: one for the walks, one whose public rate limit
    is 2 a minute (its 429 page)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    await _seed(settings)
    try:
        with serve(settings) as base, serve(settings, REGISTRY_PUBLIC_RATE_LIMIT="2") as limited:
            yield {"base": base, "limited": limited}
    finally:
        await _empty(settings)


@pytest.fixture(scope="module")
async def browser():  # type: ignore[no-untyped-def]
    from playwright.async_api import async_playwright

    SHOTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()
