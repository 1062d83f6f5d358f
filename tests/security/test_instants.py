"""Instants and dates at the edge of the calendar, on every route that takes one.

`9999-12-31T23:59:59-14:00` is in the year 10000 once in UTC and `0001-01-01T00:00:00+14:00`
in the year 0: both were a 500 (OverflowError) on `/audit` and custodians `at`. Every instant
and date the API takes (found in its own OpenAPI document, so new ones are covered) must be
a 422 problem outside its bounds, and the bounds must be in the document.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.factories import make_account, make_force, make_person
from tests.security.test_abuse import Checker, _caller, _request, _resolve, json_body_routes
from tests.security.test_matrix import FORCE, build, seed

PROBLEM = "application/problem+json"
EDGE_INSTANTS = [
    "9999-12-31T23:59:59-14:00",  # the year 10000 in UTC
    "0001-01-01T00:00:00+14:00",  # the year 0 in UTC
    "0001-01-01T00:00:00Z",
    "0042-06-01T00:00:00Z",
]
EDGE_DATES = ["0042-06-01", "0001-01-01", "9999-12-31"]


@pytest.fixture
async def world(session):
    return await seed(session, ("comms_admin",))


@pytest.fixture
def auth(tokens):
    return {
        "comms_admin": tokens.headers("comms_admin", force=FORCE),
        "admin": tokens.headers("admin", force=None),
    }


def _format(doc: dict[str, Any], schema: dict[str, Any]) -> str | None:
    return _resolve(doc, schema).get("format")


def _query_instants(app: Any) -> list[tuple[str, str, str, str]]:
    """(method, path, parameter, format) of every date or date-time query parameter."""
    doc = app.openapi()
    found = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                fmt = _format(doc, param.get("schema", {}))
                if param["in"] == "query" and fmt in ("date", "date-time"):
                    found.append((method.upper(), path, param["name"], fmt))
    return found


async def test_edge_instants_in_every_query_parameter_are_422(app, client, db, world, auth):
    found = _query_instants(app)
    names = {(path, name) for _, path, name, _ in found}
    assert {
        ("/api/v1/audit", "since"),
        ("/api/v1/audit", "until"),
        ("/api/v1/accounts/{account_id}/custodians", "at"),
        ("/api/v1/people/{person_id}/accounts", "at"),
    } <= names
    check = Checker(client, db)
    for method, path, name, fmt in found:
        base = _request(method, path, world, auth)
        for value in EDGE_INSTANTS if fmt == "date-time" else EDGE_DATES:
            kwargs = {**base, "params": {**base["params"], name: value}}
            await check.expect_4xx(f"{method} {path} ?{name}={value}", **kwargs)
            r = await client.request(**kwargs)
            assert r.status_code == 422, (path, name, value, r.text[:200])
            assert r.json()["errors"][0]["loc"] == ["query", name]
    check.verdict()


async def test_edge_instants_in_every_body_field_are_422(app, client, db, world, auth):
    doc = app.openapi()
    check = Checker(client, db)
    seen = set()
    for method, path, schema in json_body_routes(app):
        base = _request(method, path, world, auth)
        valid = base.get("json") or {}
        for name, prop in schema.get("properties", {}).items():
            fmt = _format(doc, prop)
            if fmt not in ("date", "date-time"):
                continue
            seen.add(name)
            for value in EDGE_INSTANTS if fmt == "date-time" else EDGE_DATES:
                kwargs = {**base, "json": {**valid, name: value}}
                await check.expect_4xx(f"{method} {path} {name}={value}", **kwargs)
                r = await client.request(**kwargs)
                assert r.status_code == 422, (path, name, value, r.text[:200])
    assert {"left_on", "effective_from", "last_post_at", "period_start", "period_end"} <= seen
    check.verdict()


def test_every_instant_and_date_states_its_bounds_in_the_openapi(app):
    doc = app.openapi()
    bounded = 0
    for _, path, name, _fmt in _query_instants(app):
        for method, op in doc["paths"][path].items():
            for param in op.get("parameters", []):
                if param["name"] == name:
                    schema = _resolve(doc, param["schema"])
                    assert schema["formatMinimum"] <= schema["formatMaximum"], (method, path)
                    bounded += 1
    for _method, path, schema in json_body_routes(app):
        for name, prop in schema.get("properties", {}).items():
            resolved = _resolve(doc, prop)
            if resolved.get("format") in ("date", "date-time"):
                assert "formatMinimum" in resolved and "formatMaximum" in resolved, (path, name)
                bounded += 1
    assert bounded >= 8
    leave = doc["components"]["schemas"]["LeaveBody"]["properties"]["left_on"]
    assert leave["formatMinimum"] == "1900-01-01"


def _cursor(values: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def test_cursors_carrying_edge_instants_are_422(app, client, db, world, auth):
    # Time-keyed cursors are decoded by the service: a forged one must not overflow.
    check = Checker(client, db)
    paths = [
        "/api/v1/accounts/{account_id}/holds",
        "/api/v1/accounts/{account_id}/attestations",
        "/api/v1/people/{person_id}/signoffs",
        "/api/v1/requests",
    ]
    for path in paths:
        role, variant = _caller("GET", path)
        kwargs = build("GET", path, world, variant)
        kwargs["headers"] = {**kwargs["headers"], **auth[role]}
        for edge in EDGE_INSTANTS[:2]:
            cursor = _cursor([edge, "123e4567-e89b-12d3-a456-426614174000"])
            call = {**kwargs, "params": {**kwargs["params"], "cursor": cursor}}
            r = await client.request(**call)
            assert r.status_code == 422, (path, edge, r.status_code, r.text[:200])
            await check.expect_4xx(f"GET {path} cursor={edge}", **call)
    check.verdict()


async def test_a_leaving_date_in_the_year_42_is_refused_and_1900_is_not(client, session, tokens):
    staffs = await make_force(session, FORCE)
    person = await make_person(session, staffs)
    headers = tokens.headers("comms_admin", force=FORCE)
    url = f"/api/v1/people/{person.id}/leave"
    r = await client.post(url, json={"left_on": "0042-03-01"}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["loc"] == ["body", "left_on"]
    r = await client.post(url, json={"left_on": "1900-01-01"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["left_on"] == "1900-01-01"


async def test_instants_inside_the_bounds_still_answer(client, session, tokens):
    staffs = await make_force(session, FORCE)
    account = await make_account(session, staffs)
    headers = tokens.headers("admin", force=None)
    r = await client.get(
        "/api/v1/audit",
        params={"since": "1900-01-01T00:00:00Z", "until": "9999-12-31T09:59:59-14:00"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    r = await client.get(
        f"/api/v1/accounts/{account.id}/custodians",
        params={"at": "9999-12-31T23:59:59Z"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["at"].startswith("9999-12-31T23:59:59")


async def test_an_activity_import_with_a_period_in_the_year_42_is_refused(client, session, tokens):
    staffs = await make_force(session, FORCE)
    account = await make_account(session, staffs)
    body = (
        "platform,handle,period_start,period_end,original_posts,reposts,replies,followers,"
        f"last_post_at\n{account.platform},{account.handle},0042-01-01,0042-01-31,1,1,1,1,\n"
    )
    r = await client.post(
        "/api/v1/imports/activity",
        content=body.encode(),
        headers={**tokens.headers("collector", force=FORCE), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} == {"period_start", "period_end"}
