"""/api/v1/public/feed.atom: the official directory's additions, changes and removals,
newest first, as valid Atom 1.0, from the accounts' audit events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from app import clock
from app.audit import service as audit
from app.audit.service import Actor
from app.models import Account
from tests.factories import make_force, make_person

FEED = "/api/v1/public/feed.atom"
A = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def history(client, session, tokens):
    """Through the API: two official accounts and an unofficial one registered, one
    renamed, an owner changed (not shown in the directory); then one taken off."""
    staffs = await make_force(session, "staffs", name="Staffordshire Police")
    wmids = await make_force(session, "wmids", name="West Midlands Police")
    ids = {}
    for n, (force, handle, classification) in enumerate(
        [
            (staffs, "staffspolice", "corporate"),
            (wmids, "wmpolice", "corporate"),
            (staffs, "staffsfan", "unofficial"),
            (staffs, "staffspoldogs", "official"),
        ]
    ):
        clock.freeze(T0 + timedelta(hours=n))
        owner = await make_person(session, force)
        r = await client.post(
            "/api/v1/accounts",
            json={
                "force": force.code,
                "platform": "x",
                "handle": handle,
                "display_name": handle.title(),
                "classification": classification,
                "owner_id": str(owner.id),
            },
            headers=tokens.headers("admin", force=None),
        )
        assert r.status_code == 201, r.text
        ids[handle] = r.json()["id"]
    clock.freeze(T0 + timedelta(hours=5))
    admin = tokens.headers("admin", force=None)
    r = await client.get(f"/api/v1/accounts/{ids['staffspoldogs']}", headers=admin)
    r = await client.patch(
        f"/api/v1/accounts/{ids['staffspoldogs']}",
        json={"display_name": "Staffs Police Dogs"},
        headers={**admin, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    clock.freeze(T0 + timedelta(hours=6))
    r = await client.get(f"/api/v1/accounts/{ids['staffspolice']}", headers=admin)
    r = await client.patch(
        f"/api/v1/accounts/{ids['staffspolice']}",
        json={"platform_account_id": "12345"},  # not something the directory shows
        headers={**admin, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    # A decommission approved (the workflow's own event: active -> decommissioning).
    account = await session.get(Account, uuid.UUID(ids["wmpolice"]))
    account.status = "decommissioning"
    audit.record(
        session, Actor.system("test"), "account.decommissioning", "account", account.id,
        {"status": ["active", "decommissioning"]}, force_id=account.force_id,
        at=T0 + timedelta(hours=7),
    )  # fmt: skip
    await session.commit()
    clock.freeze(None)
    return ids


def _entries(xml: bytes) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.fromstring(xml)
    assert root.tag == f"{A}feed"
    return root, root.findall(f"{A}entry")


async def test_the_feed_is_atom_with_additions_changes_and_removals_newest_first(client, history):
    r = await client.get(FEED)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    root, entries = _entries(r.content)
    # RFC 4287: a feed has one id, title, updated, and an author (or every entry has one).
    for name in ("id", "title", "updated", "author"):
        assert len(root.findall(f"{A}{name}")) == 1, name
    assert root.find(f"{A}link[@rel='self']") is not None
    titles = [e.findtext(f"{A}title") for e in entries]
    assert titles == [
        "Removed: @wmpolice on x (West Midlands Police)",
        "Changed: @staffspoldogs on x (Staffordshire Police)",
        "Added: @staffspoldogs on x (Staffordshire Police)",
        "Added: @wmpolice on x (West Midlands Police)",
        "Added: @staffspolice on x (Staffordshire Police)",
    ]  # never the unofficial account, nor the change the directory does not show
    updated = [e.findtext(f"{A}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert root.findtext(f"{A}updated") == updated[0] == "2026-03-02T16:00:00Z"
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("tag:") for i in ids)
    for e in entries:
        for name in ("id", "title", "updated", "summary"):
            assert e.find(f"{A}{name}") is not None
        assert e.find(f"{A}link[@rel='alternate']").get("href").startswith("https://x.com/")
    changed = entries[1].findtext(f"{A}summary")
    assert "display name: Staffspoldogs → Staffs Police Dogs" in changed
    assert [c.get("term") for c in entries[0].findall(f"{A}category")] == [
        "removed", "force:wmids"
    ]  # fmt: skip


async def test_the_feed_of_one_force_has_its_entries_only(client, history):
    r = await client.get(FEED, params={"force": "staffs"})
    root, entries = _entries(r.content)
    assert root.findtext(f"{A}id").endswith(":directory:staffs")
    assert "Staffordshire Police" in root.findtext(f"{A}title")
    assert [e.findtext(f"{A}title") for e in entries] == [
        "Changed: @staffspoldogs on x (Staffordshire Police)",
        "Added: @staffspoldogs on x (Staffordshire Police)",
        "Added: @staffspolice on x (Staffordshire Police)",
    ]
    assert root.find(f"{A}link[@rel='alternate']").get("href").endswith("/directory/staffs")


async def test_an_unknown_force_is_404_and_an_empty_feed_is_still_valid(client, session):
    await make_force(session, "quiet", name="Quiet Constabulary")
    r = await client.get(FEED, params={"force": "nowhere"})
    assert r.status_code == 404 and r.json()["code"] == "force-not-found"
    r = await client.get(FEED, params={"force": "quiet"})
    root, entries = _entries(r.content)
    assert entries == [] and root.findtext(f"{A}updated")


async def test_the_feed_keeps_the_latest_fifty(client, session, monkeypatch):
    from app.public import service

    staffs = await make_force(session, "staffs", name="Staffordshire Police")
    for n in range(4):
        account = Account(force_id=staffs.id, platform="x", handle=f"staffs{n}",
                          url=f"https://x.com/staffs{n}", display_name=f"S{n}",
                          classification="official", status="active")  # fmt: skip
        session.add(account)
        await session.flush()
        audit.record(
            session, Actor.system("test"), "account.imported", "account", account.id,
            {"status": [None, "active"]}, force_id=staffs.id, at=T0 + timedelta(minutes=n),
        )  # fmt: skip
    await session.commit()
    monkeypatch.setattr(service, "FEED_ENTRIES", 2)
    _, entries = _entries((await client.get(FEED)).content)
    assert [e.findtext(f"{A}title")[:16] for e in entries] == [
        "Added: @staffs3 ",
        "Added: @staffs2 ",
    ]
