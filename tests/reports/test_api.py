from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.compliance.flags import FlagTime
from app.models import Account
from app.reports import repository
from tests.factories import make_account, make_force, make_person

SUMMARY = "/api/v1/reports/summary"
COMPLIANCE = "/api/v1/reports/compliance"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _fake_flags(flag: str, now: datetime | FlagTime, **_kw: object) -> sa.ColumnElement[bool]:
    # Simple stand-ins, so the counts test this module's aggregation, not the flag rules.
    today = now.today if isinstance(now, FlagTime) else now.date()
    if flag == "dormant":
        return Account.last_post_at.is_(None)
    if flag == "unsanctioned":
        return sa.and_(Account.classification == "unofficial", Account.status == "active")
    if flag == "review_overdue":
        return Account.review_due_on < today
    return sa.false()


@pytest.fixture
def flags(monkeypatch):
    # The summary statement is built once: build it again with the stand-ins, and again
    # with the real flags for the tests after these.
    monkeypatch.setattr(repository, "flag_expression", _fake_flags)
    repository._summary_statement.cache_clear()
    clock.freeze(NOW)
    yield
    repository._summary_statement.cache_clear()


async def _world(session):
    staffs = await make_force(session, "staffs")
    wmids = await make_force(session, "wmids")
    await make_force(session, "norfolk")
    owner = await make_person(session, staffs, name="Pat Owner")
    posted = NOW - timedelta(days=3)
    past = date(2026, 1, 1)
    made = {}
    made["clean"] = await make_account(session, staffs, platform="x", last_post_at=posted)
    made["dormant"] = await make_account(
        session, staffs, platform="facebook", handle="staffs.dormant"
    )
    made["unsanctioned"] = await make_account(
        session, staffs, platform="x", classification="unofficial", last_post_at=posted,
        owner=owner,
    )  # fmt: skip
    made["both"] = await make_account(
        session, staffs, platform="instagram", classification="unofficial"
    )
    await make_account(
        session, staffs, platform="x", classification="corporate", status="decommissioned",
        review_due_on=past,
    )  # fmt: skip
    made["overdue"] = await make_account(
        session, staffs, platform="youtube", handle="staffsyt", status="suspended",
        last_post_at=posted, review_due_on=past,
    )  # fmt: skip
    await make_account(session, wmids, platform="x", last_post_at=posted)
    return made


def _zeros(keys: str) -> dict[str, int]:
    return dict.fromkeys(keys.split(), 0)


PLATFORMS = (
    "x facebook instagram youtube tiktok threads linkedin nextdoor bluesky mastodon "
    "snapchat flickr other"
)
FLAGS = (
    "dormant broadcast_only repost_heavy orphaned guidelines_outstanding no_strategy_link "
    "review_overdue unsanctioned imitates_official"
)


async def test_summary_counts_a_known_data_set_for_a_national_caller(
    client, tokens, session, flags
):
    await _world(session)
    r = await client.get(SUMMARY, headers=tokens.headers("auditor", force=None))
    assert r.status_code == 200, r.text
    rows = {row["force"]: row for row in r.json()["forces"]}
    assert list(rows) == ["norfolk", "staffs", "wmids"]
    staffs = rows["staffs"]
    assert staffs["total"] == 6
    assert staffs["live"] == 5
    assert staffs["by_platform"] == {
        **_zeros(PLATFORMS), "x": 3, "facebook": 1, "instagram": 1, "youtube": 1,
    }  # fmt: skip
    assert staffs["by_classification"] == {"corporate": 1, "official": 3, "unofficial": 2}
    assert staffs["by_status"] == {
        "pending_approval": 0, "active": 4, "suspended": 1, "decommissioning": 0,
        "decommissioned": 1, "rejected": 0,
    }  # fmt: skip
    # The decommissioned account is overdue and never posted, but closed: not counted.
    assert staffs["by_flag"] == {
        **_zeros(FLAGS), "dormant": 2, "unsanctioned": 2, "review_overdue": 1,
    }  # fmt: skip
    assert staffs["compliance_rate"] == 0.2
    assert (rows["wmids"]["total"], rows["wmids"]["compliance_rate"]) == (1, 1.0)
    assert (rows["norfolk"]["total"], rows["norfolk"]["compliance_rate"]) == (0, None)


async def test_summary_is_one_row_of_the_callers_own_force(client, tokens, session, flags):
    await _world(session)
    for role in ("comms_admin", "psd"):
        r = await client.get(SUMMARY, headers=tokens.headers(role, force="staffs"))
        assert r.status_code == 200
        assert [(f["force"], f["total"]) for f in r.json()["forces"]] == [("staffs", 6)]


async def test_national_caller_can_narrow_the_summary_to_one_force(client, tokens, session, flags):
    await _world(session)
    admin = tokens.headers("admin", force=None)
    r = await client.get(SUMMARY + "?force=wmids", headers=admin)
    assert [f["force"] for f in r.json()["forces"]] == ["wmids"]
    r = await client.get(SUMMARY + "?force=nowhere", headers=admin)
    assert r.status_code == 404


async def test_summary_as_csv_has_one_line_per_force(client, tokens, session, flags):
    await _world(session)
    headers = {**tokens.headers("admin", force=None), "Accept": "text/csv"}
    r = await client.get(SUMMARY, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    staffs = next(row for row in rows if row["force"] == "staffs")
    assert (staffs["total"], staffs["live"], staffs["compliance_rate"]) == ("6", "5", "0.2")
    assert (staffs["platform_x"], staffs["status_suspended"], staffs["flag_dormant"]) == (
        "3", "1", "2",
    )  # fmt: skip
    assert [row["force"] for row in rows] == ["norfolk", "staffs", "wmids"]


async def test_reports_need_a_token(client):
    assert (await client.get(SUMMARY)).status_code == 401
    assert (await client.get(COMPLIANCE)).status_code == 401


async def test_staff_and_collector_may_not_read_reports(client, tokens, session):
    await make_force(session, "staffs")
    for role in ("staff", "collector"):
        for url in (SUMMARY, COMPLIANCE):
            r = await client.get(url, headers=tokens.headers(role, force="staffs"))
            assert r.status_code == 403, (role, url)


async def test_another_force_is_not_found_for_force_scoped_callers(client, tokens, session):
    await make_force(session, "staffs")
    await make_force(session, "wmids")
    for url in (SUMMARY, COMPLIANCE):
        r = await client.get(url + "?force=wmids", headers=tokens.headers("psd", force="staffs"))
        assert r.status_code == 404, url


async def test_compliance_lists_live_flagged_accounts_with_why(client, tokens, session, flags):
    made = await _world(session)
    r = await client.get(COMPLIANCE, headers=tokens.headers("comms_admin", force="staffs"))
    assert r.status_code == 200, r.text
    items = {i["id"]: i for i in r.json()["items"]}
    expected = {"dormant", "unsanctioned", "both", "overdue"}
    assert set(items) == {str(made[k].id) for k in expected}
    both = items[str(made["both"].id)]
    assert both["flags"] == ["dormant", "unsanctioned"]
    assert set(both["why"]) == {"dormant", "unsanctioned"}
    assert all(both["why"].values())
    overdue = items[str(made["overdue"].id)]
    assert list(overdue["why"]) == ["review_overdue"]
    assert "2026-01-01" in overdue["why"]["review_overdue"]
    unsanctioned = items[str(made["unsanctioned"].id)]
    assert unsanctioned["owner"]["name"] == "Pat Owner"
    assert r.json()["next_cursor"] is None


async def test_compliance_pages_with_a_cursor_and_filters_by_flag(client, tokens, session, flags):
    await _world(session)
    admin = tokens.headers("admin", force=None)
    seen, cursor = [], None
    while True:
        url = COMPLIANCE + "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=admin)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    assert seen == sorted(seen)
    r = await client.get(COMPLIANCE + "?flag=dormant", headers=admin)
    assert sorted(i["flags"][0] for i in r.json()["items"]) == ["dormant", "dormant"]
    r = await client.get(COMPLIANCE + "?flag=sleepy", headers=admin)
    assert r.status_code == 422
    r = await client.get(COMPLIANCE + "?cursor=bm90LWEtdXVpZA", headers=admin)
    assert r.status_code == 422


async def test_auditor_sees_no_owner_in_the_compliance_report(client, tokens, session, flags):
    made = await _world(session)
    r = await client.get(COMPLIANCE, headers=tokens.headers("auditor", force=None))
    items = r.json()["items"]
    assert any(i["id"] == str(made["unsanctioned"].id) for i in items)
    assert all(i["owner"] is None and i["operators_redacted"] for i in items)


async def test_compliance_as_csv_streams_every_flagged_account(client, tokens, session, flags):
    await _world(session)
    headers = {**tokens.headers("psd", force="staffs"), "Accept": "text/csv"}
    r = await client.get(COMPLIANCE + "?limit=1", headers=headers)
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 4
    assert {row["flags"] for row in rows} == {
        "dormant", "unsanctioned", "dormant;unsanctioned", "review_overdue",
    }  # fmt: skip


async def test_csv_neutralises_cells_that_spreadsheets_would_run(client, tokens, session, flags):
    staffs = await make_force(session, "staffs")
    await make_account(session, staffs, display_name="=HYPERLINK(1)")
    headers = {**tokens.headers("admin", force=None), "Accept": "text/csv"}
    r = await client.get(COMPLIANCE, headers=headers)
    row = next(csv.DictReader(io.StringIO(r.text)))
    assert row["display_name"] == "'=HYPERLINK(1)"


async def test_reports_run_with_the_real_flag_rules(client, tokens, session):
    made = await _world(session)
    admin = tokens.headers("admin", force=None)
    r = await client.get(SUMMARY + "?force=staffs", headers=admin)
    assert r.status_code == 200, r.text
    (staffs,) = r.json()["forces"]
    assert (staffs["total"], staffs["live"]) == (6, 5)
    assert all(0 <= n <= 5 for n in staffs["by_flag"].values())
    r = await client.get(COMPLIANCE + "?force=staffs&limit=200", headers=admin)
    assert r.status_code == 200, r.text
    flagged = {i["id"] for i in r.json()["items"]}
    assert flagged <= {str(a.id) for a in made.values()}
    rate = staffs["compliance_rate"]
    assert rate == round((5 - len(flagged)) / 5, 4)
