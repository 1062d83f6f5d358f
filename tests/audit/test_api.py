"""The audit log over HTTP: checkpoints, events with their leaves, inclusion and
consistency proofs — each checked with the standalone verifier against the public key."""

from __future__ import annotations

import base64
import json

import sqlalchemy as sa

from app.audit import service as audit
from app.audit import verifier as v
from app.models import AuditEvent
from tests.factories import force_uuid, make_force

V = "/api/v1/audit"


async def write_events(db, n: int, force: str | None = None) -> list[int]:
    for i in range(n):
        async with db.session() as s:
            audit.record(
                s, audit.Actor("tester", ["admin"], None), "thing.done", "thing", i,
                {"i": i, "name": "Ünïcode"}, force_id=force_uuid(force) if force else None,
            )  # fmt: skip
            await s.commit()
    async with db.session(write=False) as s:
        return list(await s.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)))


def b64(values: list[str]) -> list[bytes]:
    return [base64.b64decode(x) for x in values]


async def test_checkpoints_events_and_proofs_verify_against_the_public_key(
    db, signed_client, tokens, tmp_path, signed_settings
):
    client = signed_client
    admin = tokens.headers("admin", force=None)
    ids = await write_events(db, 5)
    r = await client.get("/api/v1/public/audit-key")  # no token
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    key = v.Verifier.parse(r.text)
    assert key.name == "registry.test/audit"

    r = await client.post(f"{V}/checkpoints", headers=admin)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["origin"], first["tree_size"]) == ("registry.test/audit", 5)
    cp5 = v.open_checkpoint(first["note"], key)
    assert base64.b64encode(cp5.root).decode() == first["root_hash"]

    r = await client.get(f"{V}/checkpoint", headers={**admin, "Accept": "text/plain"})
    assert r.status_code == 200 and r.text == first["note"]
    r = await client.get(f"{V}/checkpoint", headers=admin)
    assert r.json()["note"] == first["note"] and r.json()["tree_size"] == 5

    for index, event_id in enumerate(ids):
        r = await client.get(f"{V}/events/{event_id}", headers=admin)
        event = r.json()
        assert event["leaf_index"] == index
        digest = v.check_event(event)  # its fields make its leaf
        r = await client.get(
            f"{V}/proof/inclusion", params={"event_id": event_id, "tree_size": 5}, headers=admin
        )
        proof = r.json()
        assert (proof["leaf_index"], proof["tree_size"]) == (index, 5)
        v.verify_inclusion(index, 5, digest, b64(proof["hashes"]), cp5.root)

    more = await write_events(db, 4)
    r = await client.post(f"{V}/checkpoints", headers=admin)
    cp9 = v.open_checkpoint(r.json()["note"], key)
    assert cp9.size == 9
    r = await client.get(f"{V}/proof/consistency", params={"first": 5}, headers=admin)
    proof = r.json()
    assert (proof["first"], proof["second"]) == (5, 9)  # second: the latest checkpoint
    v.verify_consistency(5, 9, b64(proof["hashes"]), cp5.root, cp9.root)

    r = await client.get(f"{V}/checkpoints?limit=1", headers=admin)
    page = r.json()
    assert [c["tree_size"] for c in page["items"]] == [5]
    r = await client.get(f"{V}/checkpoints?cursor={page['next_cursor']}", headers=admin)
    assert [c["tree_size"] for c in r.json()["items"]] == [9]
    logged = audit.read_checkpoint_file(signed_settings.audit_checkpoint_log)
    assert [v.open_checkpoint(n, key).size for n in logged] == [5, 9]

    # What an investigator runs on the files handed over.
    files = {
        "key": r_text(await client.get("/api/v1/public/audit-key")),
        "old": first["note"],
        "cp": (await client.get(f"{V}/checkpoint", headers={**admin, "Accept": "text/plain"})).text,
        "event": (await client.get(f"{V}/events/{more[1]}", headers=admin)).text,
        "proof": (await client.get(f"{V}/proof/inclusion?event_id={more[1]}", headers=admin)).text,
        "cons": (await client.get(f"{V}/proof/consistency?first=5&second=9", headers=admin)).text,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    p = {name: str(tmp_path / name) for name in files}
    assert v.main(["leaf", p["event"]]) == 0
    assert v.main(["inclusion", "--key", p["key"], "--checkpoint", p["cp"],
                   "--event", p["event"], "--proof", p["proof"]]) == 0  # fmt: skip
    assert v.main(["consistency", "--key", p["key"], "--old", p["old"], "--new", p["cp"],
                   "--proof", p["cons"]]) == 0  # fmt: skip
    # A changed event, a proof for another checkpoint, a forged checkpoint: all refused.
    forged = json.loads(files["event"]) | {"action": "thing.undone"}
    (tmp_path / "forged").write_text(json.dumps(forged))
    assert v.main(["leaf", str(tmp_path / "forged")]) == 1
    assert v.main(["inclusion", "--key", p["key"], "--checkpoint", p["old"],
                   "--event", p["event"], "--proof", p["proof"]]) == 1  # fmt: skip
    (tmp_path / "bad").write_text(files["cp"].replace("\n9\n", "\n10\n"))
    assert v.main(["consistency", "--key", p["key"], "--old", p["old"],
                   "--new", str(tmp_path / "bad"), "--proof", p["cons"]]) == 1  # fmt: skip


def r_text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    return response.text


async def test_bad_parameters_are_problems_never_500(db, signed_client, tokens):
    client = signed_client
    admin = tokens.headers("admin", force=None)
    ids = await write_events(db, 3)
    await client.post(f"{V}/checkpoints", headers=admin)
    cases = [
        (f"{V}/proof/inclusion?event_id={ids[2]}&tree_size=2", 404),  # leaf 2 not in size 2
        (f"{V}/proof/inclusion?event_id={ids[0]}&tree_size=4", 404),  # beyond the log
        (f"{V}/proof/inclusion?event_id=999999", 404),
        (f"{V}/proof/inclusion?event_id=abc", 422),
        (f"{V}/proof/inclusion?event_id=1&tree_size=-1", 422),
        (f"{V}/proof/inclusion", 422),
        (f"{V}/proof/consistency?first=3&second=2", 404),  # no tree of 2 extends one of 3
        (f"{V}/proof/consistency?first=1&second=99", 404),  # beyond the log
        (f"{V}/proof/consistency?first=99999999999999999999", 422),
        (f"{V}/events/0", 422),
        (f"{V}/events/999999", 404),
        (f"{V}/events/x", 422),
        (f"{V}/checkpoints?cursor=garbage", 422),
    ]
    for url, status in cases:
        r = await client.get(url, headers=admin)
        assert r.status_code == status, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), url


async def test_without_a_signing_key_nothing_is_signed(db, client, tokens):
    admin = tokens.headers("admin", force=None)
    await write_events(db, 1)
    r = await client.post(f"{V}/checkpoints", headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "audit-key-missing"
    assert (await client.get("/api/v1/public/audit-key")).status_code == 404
    r = await client.get(f"{V}/checkpoint", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "audit-checkpoint-not-found"
    # The tree still grows, and proofs work against the tree's size.
    r = await client.get(f"{V}/proof/consistency?first=0", headers=admin)
    assert r.json() == {"first": 0, "second": 1, "hashes": []}


async def test_force_scoped_callers_prove_only_their_force_s_events(
    db, session, signed_client, tokens
):
    await make_force(session, "staffs")
    await make_force(session, "wmids")
    await session.commit()
    [theirs] = await write_events(db, 1, force="wmids")
    psd = tokens.headers("psd", force="staffs")
    for url in (f"{V}/events/{theirs}", f"{V}/proof/inclusion?event_id={theirs}&tree_size=1"):
        r = await signed_client.get(url, headers=psd)
        assert r.status_code == 404, url
    own = tokens.headers("psd", force="wmids")
    r = await signed_client.get(f"{V}/events/{theirs}", headers=own)
    assert r.status_code == 200 and r.json()["leaf_index"] == 0
    r = await signed_client.post(f"{V}/checkpoints", headers=own)
    assert r.status_code == 403  # signing is the admin's
