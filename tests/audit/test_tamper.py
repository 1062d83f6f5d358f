"""Attacks on the stored log by whoever reaches the database — on PostgreSQL a superuser
or table owner past the triggers (replication role), on SQLite anyone with the file —
each detected and named by GET /audit/verify and `registry audit verify`."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from typer.testing import CliRunner

from app.audit import service as audit
from app.cli import app as cli
from tests.audit.test_api import V, write_events


async def tamper(db, *statements: str) -> None:
    async with db.engine.begin() as conn:
        if not db.is_sqlite:
            await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            await conn.execute(sa.text(statement))


async def verify(client, tokens) -> dict:
    r = await client.get(f"{V}/verify", headers=tokens.headers("admin", force=None))
    assert r.status_code == 200, r.text
    return r.json()


async def checkpoint(client, tokens) -> dict:
    r = await client.post(f"{V}/checkpoints", headers=tokens.headers("admin", force=None))
    assert r.status_code == 201, r.text
    return r.json()


def _drop_tail(size: int) -> tuple[str, ...]:
    """Delete every leaf from `size` on, the subtrees they are part of, and their events."""
    return (
        f'DELETE FROM audit_tree_nodes WHERE ("index" + 1) * (1 << level) > {size}',
        f"CREATE TEMPORARY TABLE gone AS SELECT event_id FROM audit_leaves "
        f"WHERE leaf_index >= {size}",
        f"DELETE FROM audit_leaves WHERE leaf_index >= {size}",
        "DELETE FROM audit_events WHERE id IN (SELECT event_id FROM gone)",
        "DROP TABLE gone",
    )


async def test_an_intact_log_verifies(db, signed_client, tokens):
    await write_events(db, 6)
    await checkpoint(signed_client, tokens)
    result = await verify(signed_client, tokens)
    assert (result["ok"], result["tree_size"], result["checkpoints_checked"]) == (True, 6, 2)
    assert result["problems"] == []  # the stored checkpoint and its copy in the log file
    await write_events(db, 2)  # committed, not yet sequenced (no background task here)
    result = await verify(signed_client, tokens)
    assert (result["ok"], result["tree_size"], result["pending"]) == (True, 6, 2)


async def test_a_changed_event_is_named(db, signed_client, tokens):
    ids = await write_events(db, 4)
    await checkpoint(signed_client, tokens)
    await tamper(db, f"UPDATE audit_events SET actor_sub = 'someone-else' WHERE id = {ids[1]}")
    result = await verify(signed_client, tokens)
    assert (result["ok"], result["first_broken_id"]) == (False, ids[1])
    assert f"event {ids[1]} (leaf 1) differs from its leaf" in result["problems"]


async def test_tail_deletion_is_named_as_truncation(db, signed_client, tokens):
    await write_events(db, 5)
    await checkpoint(signed_client, tokens)
    await tamper(db, *_drop_tail(3))
    result = await verify(signed_client, tokens)
    assert result["ok"] is False and result["tree_size"] == 3
    assert "checkpoint 1 signs 5 events; the log holds 3 (truncated)" in result["problems"]


async def test_rewrite_and_recompute_with_the_service_s_own_code_is_detected(
    db, signed_client, tokens
):
    """The attacker changes an event and rebuilds every leaf and subtree hash with the
    sequencer: leaves and events agree again — but not with the signed checkpoint."""
    ids = await write_events(db, 6)
    await checkpoint(signed_client, tokens)
    await tamper(
        db,
        f"UPDATE audit_events SET action = 'thing.never-happened' WHERE id = {ids[4]}",
        "DELETE FROM audit_tree_nodes",
        "DELETE FROM audit_leaves",
    )
    await audit.sequence(db, full=True)
    result = await verify(signed_client, tokens)
    assert result["ok"] is False
    assert (
        "checkpoint 1: a different root at size 6 — the log was rewritten among leaves 0 to 5"
        in result["problems"]
    )


async def test_a_deleted_or_altered_checkpoint_is_named(db, signed_client, tokens):
    await write_events(db, 2)
    await checkpoint(signed_client, tokens)
    await write_events(db, 1)
    await checkpoint(signed_client, tokens)
    await write_events(db, 1)
    third = await checkpoint(signed_client, tokens)
    await tamper(db, "DELETE FROM audit_checkpoints WHERE id = 1")
    problems = (await verify(signed_client, tokens))["problems"]
    assert "checkpoint 1 is missing (deleted from the database)" in problems
    assert "checkpoint log entry 1 is not in the database (deleted or altered)" in problems
    # The newest one: only the log file (kept outside the database) knows it existed.
    await tamper(db, f"DELETE FROM audit_checkpoints WHERE id = {third['id']}")
    problems = (await verify(signed_client, tokens))["problems"]
    assert "checkpoint log entry 3 is not in the database (deleted or altered)" in problems
    # An altered one: its signature no longer holds.
    await tamper(db, "UPDATE audit_checkpoints SET note = replace(note, '\n3\n', '\n2\n')")
    problems = (await verify(signed_client, tokens))["problems"]
    assert "checkpoint 2: the signature of registry.test/audit does not verify" in problems


async def test_cli_verify_against_a_checkpoint_kept_elsewhere(
    db, signed_client, tokens, signed_settings, monkeypatch, tmp_path
):
    """`registry audit verify --checkpoint FILE`: the investigator's copy of a checkpoint
    catches a log emptied of everything — events, leaves, nodes and checkpoints."""
    await write_events(db, 4)
    kept = tmp_path / "kept.note"
    kept.write_text((await checkpoint(signed_client, tokens))["note"])
    for name, value in {
        "REGISTRY_DATABASE_URL": signed_settings.database_url,
        "REGISTRY_JWT_SECRET": signed_settings.jwt_secret,
        "REGISTRY_AUDIT_SIGNING_KEY_FILE": signed_settings.audit_signing_key_file,
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["audit", "verify", *args])

    ok = await asyncio.to_thread(run, "--checkpoint", str(kept))
    assert ok.exit_code == 0, ok.output
    assert "audit log intact: 4 events" in ok.output
    await tamper(
        db,
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_tree_nodes",
        "DELETE FROM audit_leaves",
        "DELETE FROM audit_events",
    )
    bad = await asyncio.to_thread(run, "--checkpoint", str(kept))
    assert bad.exit_code == 1
    assert "given checkpoint 1 signs 4 events; the log holds 0 (truncated)" in bad.output
