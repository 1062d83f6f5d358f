"""Each account's look-alike key and stem follow its handle on every path that writes one:
registration, edit, import and seed (and the migration fills existing rows)."""

from __future__ import annotations

import sqlalchemy as sa

from app.lookalikes import skeleton
from app.models import Account
from app.seed import seed
from tests.factories import make_force

API = "/api/v1"


async def _forms(session) -> dict[str, tuple[str, str]]:
    rows = (await session.execute(sa.select(Account.handle, Account.lookalike_key,
                                            Account.lookalike_stem))).all()  # fmt: skip
    await session.commit()
    return {r.handle: (r.lookalike_key, r.lookalike_stem) for r in rows}


async def test_registration_and_edit_keep_the_keys(client, tokens, session):
    await make_force(session, "staffs", name="Staffordshire Police")
    await session.commit()
    headers = tokens.headers("comms_admin", force="staffs")
    r = await client.post(
        f"{API}/accounts",
        json={
            "force": "staffs",
            "url": "https://x.com/Staffs_P0lice1",
            "classification": "official",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert (await _forms(session))["staffs_p0lice1"] == ("staffspolicel", "staffsplice")
    account = r.json()
    r = await client.patch(
        f"{API}/accounts/{account['id']}",
        json={"url": "https://x.com/cheshire_dogs"},
        headers={**headers, "If-Match": '"v1"'},
    )
    assert r.status_code == 200, r.text
    assert (await _forms(session)) == {"cheshire_dogs": ("cheshiredogs", "cheshiredogs")}


async def test_import_keeps_the_keys(client, tokens, session):
    await make_force(session, "staffs")
    await session.commit()
    csv = "platform,handle,display_name,classification\nx,Staffs_Dogs_2,Dogs,official\n"
    r = await client.post(
        f"{API}/imports/accounts",
        content=csv,
        headers={**tokens.headers("comms_admin", force="staffs"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    assert (await _forms(session)) == {"staffs_dogs_2": ("staffsdogs2", "staffsdogs")}


async def test_seed_writes_the_keys(db, session):
    await seed(db, forces=2, accounts=60, people=None, months=2, audit_events=None)
    forms = await _forms(session)
    assert len(forms) == 60
    assert all(v == (skeleton.key(h), skeleton.stem(h)) for h, v in forms.items())
