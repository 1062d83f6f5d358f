"""Every failure is an RFC 9457 problem; nothing half-written survives an error."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa

from app.audit import service as audit
from app.auth.deps import Session
from app.main import create_app
from app.models import AuditEvent, Force
from tests.factories import make_force

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    assert "Traceback" not in response.text
    return body


async def test_unknown_route_is_a_problem(client):
    assert_problem(await client.get("/api/v1/no-such-thing"), 404, "not-found")


async def test_wrong_method_is_a_problem(client):
    assert_problem(await client.delete("/api/v1/forces"), 405, "method-not-allowed")


async def test_missing_token_is_401_with_bearer_challenge(client):
    r = await client.get("/api/v1/forces")
    assert_problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_token_without_a_known_role_is_403(client, tokens):
    r = await client.get("/api/v1/forces", headers=tokens.headers("janitor", force="staffs"))
    assert_problem(r, 403)


async def test_token_for_an_unregistered_force_is_403(client, tokens):
    r = await client.get("/api/v1/forces", headers=tokens.headers("staff", force="nowhere"))
    assert_problem(r, 403)


async def test_malformed_json_is_400(client, tokens):
    r = await client.post(
        "/api/v1/forces",
        content=b'{"code": "x",',
        headers={**tokens.headers("admin", force=None), "content-type": "application/json"},
    )
    assert_problem(r, 400)


async def test_absurdly_nested_json_is_refused_without_500(client, tokens):
    body = b"[" * 100_000 + b"]" * 100_000
    r = await client.post(
        "/api/v1/forces",
        content=body,
        headers={**tokens.headers("admin", force=None), "content-type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert_problem(r, r.status_code)


async def test_body_over_one_mebibyte_is_413(client, tokens):
    big = json.dumps({"code": "big", "name": "x" * (1 << 20)})
    r = await client.post(
        "/api/v1/forces",
        content=big,
        headers={**tokens.headers("admin", force=None), "content-type": "application/json"},
    )
    assert_problem(r, 413, "payload-too-large")


async def test_streamed_body_over_the_limit_is_413(client, tokens):
    async def chunks():
        for _ in range(40):
            yield b"x" * 65536

    r = await client.post(
        "/api/v1/forces",
        content=chunks(),
        headers={**tokens.headers("admin", force=None), "content-type": "application/json"},
    )
    assert_problem(r, 413, "payload-too-large")


async def test_validation_errors_list_each_field_without_echoing_input(client, tokens):
    r = await client.post(
        "/api/v1/forces",
        json={"code": "Bad Code!", "name": "n\x00" * 150, "unknown": 1},
        headers=tokens.headers("admin", force=None),
    )
    body = assert_problem(r, 422, "validation-failed")
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert ("body", "code") in locs
    assert ("body", "name") in locs
    assert ("body", "unknown") in locs
    assert "\\u0000" not in r.text and "n\x00n" not in r.text


async def test_request_id_is_echoed_or_generated(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"
    assert len(r.headers["x-request-id"]) == 32


@pytest.fixture
async def failing_client(settings, db):
    """An app with one extra route that writes, audits, then fails half-way."""
    application = create_app(settings, database=db)

    @application.post("/boom")
    async def boom(session: Session) -> dict:
        force = Force(code="halfway", name="Half Way")
        session.add(force)
        await session.flush()
        audit.record(session, audit.Actor.system(), "force.created", "force", force.id, {})
        raise RuntimeError("secret internal detail")

    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_unexpected_error_is_500_problem_with_request_id_and_no_internals(failing_client):
    r = await failing_client.post("/boom", headers={"X-Request-ID": "req-42"})
    body = assert_problem(r, 500, "internal-error")
    assert "req-42" in body["detail"]
    assert "secret internal detail" not in r.text


async def test_a_request_failing_half_way_leaves_no_trace(failing_client, session):
    await failing_client.post("/boom")
    assert await session.scalar(sa.select(sa.func.count()).select_from(Force)) == 0
    assert await session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


async def test_a_conflicting_create_writes_nothing(client, tokens, session):
    await make_force(session, "staffs")
    r = await client.post(
        "/api/v1/forces",
        json={"code": "staffs", "name": "Again"},
        headers=tokens.headers("admin", force=None),
    )
    assert_problem(r, 409, "duplicate-force")
    assert await session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
