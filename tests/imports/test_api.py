from __future__ import annotations

import sqlalchemy as sa

from app.models import Account, AccountObjective, AuditEvent, Custodianship
from tests.factories import make_account, make_force, make_objective, make_person, make_unit

URL = "/api/v1/imports/accounts"
CSV = {"Content-Type": "text/csv"}


async def _world(session):
    staffs = await make_force(session, "staffs")
    await make_force(session, "wmids")
    owner = await make_person(session, staffs, staff_id="S100")
    await make_person(session, staffs, staff_id="S200", status="left")
    unit = await make_unit(session, staffs, name="Dog Unit")
    engage = await make_objective(session, staffs, code="ENGAGE")
    await make_objective(session, staffs, code="OLD", active=False)
    await make_account(session, staffs, platform="x", handle="taken")
    await make_account(session, staffs, platform="x", handle="gone", status="decommissioned")
    return staffs, owner, unit, engage


def _headers(tokens, role="comms_admin", **kw):
    return {**tokens.headers(role, **kw), **CSV}


async def _count(session, model) -> int:
    # The test session writes (BEGIN IMMEDIATE on SQLite): end its transaction at once.
    found = await session.scalar(sa.select(sa.func.count()).select_from(model))
    await session.commit()
    return found


GOOD = (
    "url,platform,handle,display_name,classification,status,owner_staff_id,unit,objectives,"
    "is_anonymous\n"
    "https://x.com/StaffsPolDogs?s=20,,,Staffs Dogs,official,,S100,Dog Unit,ENGAGE,false\n"
    ",Facebook,@staffs.police.hq,Staffs Police HQ,corporate,active,,,,\n"
    ",x,gone,Re-registered,unofficial,pending_approval,,,,yes\n"
)


async def test_import_creates_every_row_with_owner_unit_objectives_and_audit(
    client, tokens, session
):
    staffs, owner, unit, engage = await _world(session)
    r = await client.post(URL, content=GOOD, headers=_headers(tokens))
    assert r.status_code == 201, r.text
    assert r.json() == {"created": 3}
    rows = (
        await session.execute(
            sa.select(Account).where(Account.handle.in_(["staffspoldogs", "staffs.police.hq"]))
        )
    ).scalars()
    by_handle = {a.handle: a for a in rows}
    dogs = by_handle["staffspoldogs"]
    assert (dogs.platform, dogs.status, dogs.classification) == ("x", "active", "official")
    assert (dogs.owner_id, dogs.unit_id, dogs.force_id) == (owner.id, unit.id, staffs.id)
    assert dogs.review_due_on is not None
    assert by_handle["staffs.police.hq"].platform == "facebook"
    custodian = await session.scalar(
        sa.select(Custodianship).where(Custodianship.account_id == dogs.id)
    )
    assert (custodian.person_id, custodian.role, custodian.valid_to) == (owner.id, "owner", None)
    links = await session.scalars(
        sa.select(AccountObjective.objective_id).where(AccountObjective.account_id == dogs.id)
    )
    assert list(links) == [engage.id]
    actions = list(await session.scalars(sa.select(AuditEvent.action)))
    assert actions == ["account.imported"] * 3
    verify = await client.get("/api/v1/audit/verify", headers=tokens.headers("admin", force=None))
    assert verify.json()["ok"] is True


async def test_dry_run_validates_and_writes_nothing(client, tokens, session):
    await _world(session)
    before = await _count(session, Account)
    r = await client.post(URL + "?dry_run=true", content=GOOD, headers=_headers(tokens))
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3}
    assert await _count(session, Account) == before
    assert await _count(session, AuditEvent) == 0


BAD = (
    "platform,handle,display_name,classification,status,owner_staff_id,unit,objectives,"
    "is_anonymous\n"
    "myspace,someone,A,official,active,,,,\n"  # 2 unknown platform
    "x,this handle is bad,B,official,active,,,,\n"  # 3 bad handle
    "x,fine1,C,official,active,,,,\n"  # 4 (good, but the import is refused)
    "x,@FINE1,D,official,active,,,,\n"  # 5 duplicate of line 4
    "x,taken,E,official,active,,,,\n"  # 6 already registered
    "x,fine2,F,official,active,S999,,,\n"  # 7 unknown owner
    "x,fine3,G,official,active,S200,,,\n"  # 8 owner has left
    "x,fine4,H,official,active,,Cat Unit,,\n"  # 9 unknown unit
    "x,fine5,I,official,active,,,ENGAGE;NOPE,\n"  # 10 unknown objective
    "x,fine6,J,official,active,,,OLD,\n"  # 11 inactive objective
    "x,fine7,K,secret,active,,,,\n"  # 12 bad classification
    "x,fine8,L,official,dormant,,,,\n"  # 13 bad status
    "x,fine9,M,official,decommissioned,,,,\n"  # 14 released status
    "x,fine10,N,official,active,,,,maybe\n"  # 15 bad boolean
    "x,fine11,O,official\n"  # 16 wrong number of fields
    "x,fine12,,official,active,,,,\n"  # 17 empty display name
)


async def test_every_bad_row_is_reported_and_nothing_is_imported(client, tokens, session):
    await _world(session)
    before = await _count(session, Account)
    r = await client.post(URL, content=BAD, headers=_headers(tokens))
    assert r.status_code == 422, r.text
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert body["code"] == "import-rejected"
    found = [(e["line"], e["field"]) for e in body["errors"]]
    assert found == [
        (2, "platform"),
        (3, "handle"),
        (5, "handle"),
        (6, "handle"),
        (7, "owner_staff_id"),
        (8, "owner_staff_id"),
        (9, "unit"),
        (10, "objectives"),
        (11, "objectives"),
        (12, "classification"),
        (13, "status"),
        (14, "status"),
        (15, "is_anonymous"),
        (16, None),
        (17, "display_name"),
    ]
    assert all(e["msg"] for e in body["errors"])
    assert body["error_count"] == 15
    assert await _count(session, Account) == before
    assert await _count(session, AuditEvent) == 0


async def test_file_that_is_not_utf8_is_refused_with_its_line(client, tokens, session):
    await _world(session)
    data = b"platform,handle,display_name,classification\nx,ok1,Fine,official\n"
    data += "x,ok2,Caf\xe9,official\n".encode("latin-1")
    r = await client.post(URL, content=data, headers=_headers(tokens))
    assert r.status_code == 422
    assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [(3, None)]


async def test_missing_and_unknown_columns_are_reported_on_line_one(client, tokens, session):
    await _world(session)
    r = await client.post(URL, content="handle,colour\nabc,red\n", headers=_headers(tokens))
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.json()["errors"]) == [
        "classification", "colour", "display_name", "url",
    ]  # fmt: skip
    assert {e["line"] for e in r.json()["errors"]} == {1}


async def test_empty_file_is_refused(client, tokens, session):
    await _world(session)
    r = await client.post(URL, content=b"", headers=_headers(tokens))
    assert r.status_code == 422
    assert r.json()["errors"][0]["line"] == 1


def _cap(monkeypatch, app, rows: int) -> None:
    capped = app.state.settings.model_copy(update={"import_max_rows": rows})
    monkeypatch.setitem(app.state._state, "settings", capped)


def _many(n: int) -> str:
    return "platform,handle,display_name,classification\n" + "".join(
        f"x,many{i},Many {i},official\n" for i in range(n)
    )


async def test_a_file_of_exactly_the_row_cap_is_imported(client, tokens, session, app, monkeypatch):
    await _world(session)
    _cap(monkeypatch, app, 3)
    r = await client.post(URL, content=_many(3) + "\n\n", headers=_headers(tokens))
    assert r.status_code == 201, r.text
    assert r.json() == {"created": 3}


async def test_a_row_past_the_cap_is_413_too_many_rows_and_nothing_is_written(
    client, tokens, session, app, monkeypatch
):
    await _world(session)
    accounts, events = await _count(session, Account), await _count(session, AuditEvent)
    _cap(monkeypatch, app, 3)
    for dry_run in ("false", "true"):
        r = await client.post(
            URL, params={"dry_run": dry_run}, content=_many(4), headers=_headers(tokens)
        )
        assert r.status_code == 413, r.text
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert (body["code"], body["max_rows"]) == ("too-many-rows", 3)
        assert "3" in body["detail"]
    assert await _count(session, Account) == accounts
    assert await _count(session, AuditEvent) == events


async def test_the_row_cap_is_answered_before_the_rest_of_a_streamed_file_matters(
    client, tokens, session, app, monkeypatch
):
    """Past the cap the file is refused whatever follows (here: rows that are not even CSV
    and bytes that are not UTF-8); the answer still comes back whole."""
    await _world(session)
    _cap(monkeypatch, app, 2)

    async def chunks():
        yield _many(3).encode()
        for _ in range(50):
            yield b'x,"unterminated\n\xff\xfe' * 1000

    r = await client.post(URL, content=chunks(), headers=_headers(tokens))
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "too-many-rows"
    assert await _count(session, Account) == 1 + 1  # _world's two accounts only


async def test_an_import_body_over_20_mib_is_413_payload_too_large(client, tokens, session):
    await _world(session)

    async def chunks():
        yield b"platform,handle,display_name,classification\n"
        for _ in range(21 * 16):
            yield b"x" * 65535 + b"\n"

    r = await client.post(URL, content=chunks(), headers=_headers(tokens))
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "payload-too-large"
    assert await _count(session, Account) == 2


async def test_a_byte_that_is_not_utf8_is_reported_at_its_line(client, tokens, session):
    await _world(session)
    data = _many(2).encode() + b"x,bad\xff,Bad,official\n"
    r = await client.post(URL, content=data, headers=_headers(tokens))
    assert r.status_code == 422
    assert (4, None) in [(e["line"], e["field"]) for e in r.json()["errors"]]


async def test_lines_count_physical_lines_of_quoted_multiline_fields(client, tokens, session):
    await _world(session)
    data = (
        "platform,handle,display_name,classification\n"
        'x,multi,"Two\nlines",official\n'
        "x,fine,Fine,nonsense\n"
    )
    r = await client.post(URL, content=data, headers=_headers(tokens))
    assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [
        (2, "display_name"),
        (4, "classification"),
    ]


async def test_byte_order_mark_and_header_case_are_accepted(client, tokens, session):
    await _world(session)
    data = "\ufeffPlatform, Handle ,Display_Name,Classification\r\nx,bommed,Bom,official\r\n"
    r = await client.post(URL, content=data.encode(), headers=_headers(tokens))
    assert r.status_code == 201, r.text
    assert r.json() == {"created": 1}


async def test_admin_must_name_the_force_and_imports_into_it(client, tokens, session):
    await _world(session)
    admin = _headers(tokens, "admin", force=None)
    r = await client.post(URL, content=GOOD, headers=admin)
    assert r.status_code == 422
    r = await client.post(URL + "?force=nowhere", content=GOOD, headers=admin)
    assert r.status_code == 404
    data = "platform,handle,display_name,classification\nx,wmidsnew,W,official\n"
    r = await client.post(URL + "?force=wmids", content=data, headers=admin)
    assert r.status_code == 201, r.text
    force_ids = await session.scalars(
        sa.select(Account.force_id).where(Account.handle == "wmidsnew")
    )
    from tests.factories import force_uuid

    assert list(force_ids) == [force_uuid("wmids")]


async def test_comms_admin_cannot_import_into_another_force(client, tokens, session):
    await _world(session)
    r = await client.post(URL + "?force=wmids", content=GOOD, headers=_headers(tokens))
    assert r.status_code == 422


async def test_import_needs_a_token_and_an_importing_role(client, tokens, session):
    await _world(session)
    r = await client.post(URL, content=GOOD, headers=CSV)
    assert r.status_code == 401
    for role in ("staff", "psd", "collector", "auditor"):
        force = None if role == "auditor" else "staffs"
        r = await client.post(URL, content=GOOD, headers=_headers(tokens, role, force=force))
        assert r.status_code == 403, role


async def test_body_must_be_csv(client, tokens, session):
    await _world(session)
    r = await client.post(URL, json={"rows": []}, headers=tokens.headers("comms_admin"))
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported-media-type"


async def test_replayed_idempotency_key_returns_the_first_answer(client, tokens, session):
    await _world(session)
    headers = {**_headers(tokens), "Idempotency-Key": "import-1"}
    first = await client.post(URL, content=GOOD, headers=headers)
    again = await client.post(URL, content=GOOD, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == {"created": 3}
    assert again.headers.get("idempotent-replayed") == "true"
    other = await client.post(URL, content=GOOD + "x,extra,E,official,,,,,\n", headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency-key-reused"


async def test_a_file_sent_in_tiny_pieces_gets_the_same_answer_line_for_line(
    client, tokens, session
):
    """Lines, CRLFs, a BOM and quoted multi-line fields split across body chunks anywhere
    are read as in one piece: the same errors at the same lines."""
    await _world(session)
    data = (
        "\ufeffplatform,handle,display_name,classification\r\n"
        'x,split1,"Two\r\nlines",official\r\n'
        "x,split2,Fine,nonsense\r"
        "x,split3,Ünïcode,official\n"
        "x,split3,Again,official\r\n"
    ).encode()
    whole = await client.post(URL, content=data, headers=_headers(tokens))

    async def pieces():
        for i in range(0, len(data), 3):
            yield data[i : i + 3]

    split = await client.post(URL, content=pieces(), headers=_headers(tokens))
    assert whole.status_code == split.status_code == 422
    found = [(e["line"], e["field"]) for e in split.json()["errors"]]
    assert found == [(e["line"], e["field"]) for e in whole.json()["errors"]]
    assert found == [(2, "display_name"), (4, "classification"), (6, "handle")]
