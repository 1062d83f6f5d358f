"""imitates_official: a live unofficial account with an official account's skeleton, held
to the same answer by every SQL form of the flag machinery, and counted by reports."""

from __future__ import annotations

import pytest

from app import clock
from tests.compliance.test_flags import check
from tests.factories import make_account, make_force

REPORT = "/api/v1/reports/summary"


@pytest.fixture
async def staffs(session):
    force = await make_force(session, "staffs", name="Staffordshire Police")
    await make_account(session, force, handle="staffspolice", classification="corporate")
    return force


@pytest.mark.parametrize(
    ("handle", "expected"),
    [
        ("staffs_police", True),  # separators
        ("staffsp0lice", True),  # zero for o
        ("staffspolice1", True),  # a digit added (the same stem)
        ("staffs_police_99", True),
        ("staffspolise", False),  # only similar: the public page says so, the flag does not
        ("staffsfire", False),
    ],
)
async def test_an_unofficial_account_with_an_official_skeleton(session, staffs, handle, expected):
    clock.freeze(None)
    account = await make_account(session, staffs, handle=handle, classification="unofficial")
    assert await check(session, account, "imitates_official") is expected


@pytest.mark.parametrize(
    ("classification", "status", "expected"),
    [
        ("unofficial", "active", True),
        ("unofficial", "pending_approval", True),
        ("unofficial", "suspended", True),
        ("unofficial", "decommissioned", False),  # released
        ("official", "active", False),  # an official account imitates nothing
        ("corporate", "active", False),
    ],
)
async def test_only_live_unofficial_accounts(session, staffs, classification, status, expected):
    account = await make_account(
        session, staffs, platform="instagram", handle="staffs_police",
        classification=classification, status=status,
    )  # fmt: skip
    assert await check(session, account, "imitates_official") is expected


@pytest.mark.parametrize("status", ["pending_approval", "suspended", "decommissioned"])
async def test_only_active_official_accounts_are_imitated(session, status):
    force = await make_force(session, "staffs")
    await make_account(session, force, handle="staffspolice", status=status)
    account = await make_account(
        session, force, handle="staffs_police", classification="unofficial"
    )
    assert await check(session, account, "imitates_official") is False


async def test_reports_count_it(client, tokens, session, staffs):
    await make_account(session, staffs, handle="staffs_police", classification="unofficial")
    await make_account(session, staffs, handle="someone_else", classification="unofficial")
    await session.commit()
    r = await client.get(REPORT, headers=tokens.headers("comms_admin", force="staffs"))
    assert r.status_code == 200, r.text
    assert r.json()["forces"][0]["by_flag"]["imitates_official"] == 1
    r = await client.get(
        "/api/v1/accounts",
        params={"flag": "imitates_official"},
        headers=tokens.headers("comms_admin", force="staffs"),
    )
    assert [a["handle"] for a in r.json()["items"]] == ["staffs_police"]
