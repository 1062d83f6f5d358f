"""Abuse cases: hostile bodies, paths, query strings and headers on every route.

Every JSON-body route (found in the app's own OpenAPI, so new routes are covered) gets,
field by field, NUL bytes, 100,000-character strings, out-of-range integers, malformed
UUIDs, 10,000-element arrays and deeply nested values, on top of a body that is otherwise
valid (tests/security/matrix.py CALLS); then whole-body abuse and wrong content types.
The answer must always be a 4xx problem+json (never a 500) and nothing may be written:
the rows of every table and the audit events are counted before and after each request.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app import clock
from app.main import create_app
from app.models import Base
from tests.factories import make_force
from tests.security.matrix import ALLOW, CALLS, NOT_OWN, OWN, api_routes, outcomes
from tests.security.test_matrix import FORCE, build, seed

CALLERS = ("comms_admin", "admin")  # every JSON-body route is open to one of them
PROBLEM = "application/problem+json"
_PARAM = re.compile(r"{(\w+)}")
NUL = "x\x00y"
HUGE = "x" * 100_000
NESTED_DEPTH = 5_000


class Nested:
    """A JSON array nested `depth` deep (written by hand: json.dumps would recurse)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth


def json_text(body: dict[str, Any]) -> bytes:
    deep = {k: v for k, v in body.items() if isinstance(v, Nested)}
    text = json.dumps({k: f"@@{k}@@" if k in deep else v for k, v in body.items()})
    for k, v in deep.items():
        text = text.replace(f'"@@{k}@@"', "[" * v.depth + "]" * v.depth)
    return text.encode()


# --- the routes and their request schemas, from the OpenAPI document --------------------


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:  # `X | None`: the non-null branch
        branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if len(branches) == 1:
            return _resolve(doc, branches[0])
    return schema


def json_body_routes(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, resolved request schema) of every route taking a JSON body."""
    doc = app.openapi()
    out = []
    for method, path, route in api_routes(app):
        if not route.include_in_schema:  # the public's HTML pages take no body
            continue
        op = doc["paths"][path][method.lower()]
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            out.append((method, path, _resolve(doc, content["application/json"]["schema"])))
    assert len(out) >= 20, "the OpenAPI lost its request bodies"
    return out


def _caller(method: str, path: str) -> tuple[str, str]:
    """A role allowed on the route, and the variant of the seeded objects it acts on."""
    row = outcomes((method, path))
    for role in CALLERS:
        if row[role] in (ALLOW, NOT_OWN):
            return role, "other"
        if row[role] == OWN:
            return role, "own"
    raise AssertionError(f"no caller in {CALLERS} may use {method} {path}")


def _field_values(prop: dict[str, Any]) -> list[tuple[str, Any]]:
    values: list[tuple[str, Any]] = [
        ("NUL", NUL),
        ("100k chars", HUGE),
        ("-1", -1),
        ("2**63", 2**63),
        ("10**30", 10**30),
        ("10,000 items", ["x"] * 10_000),
        ("nested 5,000 deep", Nested(NESTED_DEPTH)),
        ("nested 200 deep", Nested(200)),
        ("object", {"a": {"b": {"c": HUGE}}}),
    ]
    if prop.get("format") == "uuid":
        values += [("bad uuid", "not-a-uuid"), ("uuid-ish", "123e4567-e89b-12d3-a456-4266141740zz")]
    if prop.get("format") in ("date", "date-time"):
        values += [
            ("bad date", "2026-02-30"),
            ("year 99999", "99999-01-01T00:00:00Z"),
            ("Unix time as text", "1699920000"),
        ]
    return values


# --- counting what is written ------------------------------------------------------------


# The public rate limit's counters count every request by design: bookkeeping, not data.
NOT_DATA = frozenset({"rate_limit_hits"})


def _count_sql() -> sa.TextClause:
    parts = [
        f'(SELECT count(*) FROM "{t.name}") AS "{t.name}"'
        for t in Base.metadata.sorted_tables
        if t.name not in NOT_DATA
    ]
    return sa.text("SELECT " + ", ".join(parts))


async def counts(db: Any) -> dict[str, int]:
    async with db.engine.connect() as conn:
        row = (await conn.execute(_count_sql())).mappings().one()
    return dict(row)


class Checker:
    """Sends hostile requests and collects every answer that is not a 4xx problem, or
    that wrote something."""

    def __init__(self, client: httpx.AsyncClient, db: Any) -> None:
        self.client = client
        self.db = db
        self.wrong: list[str] = []
        self.sent = 0

    async def expect_4xx(self, label: str, **kwargs: Any) -> None:
        await self._send(label, kwargs, refused=True)

    async def expect_no_5xx(self, label: str, **kwargs: Any) -> None:
        """For values a route may legitimately take (a cursor of the right shape, a
        search for control characters): any answer but a server error or a write."""
        await self._send(label, kwargs, refused=False)

    async def _send(self, label: str, kwargs: dict[str, Any], refused: bool) -> None:
        before = await counts(self.db)
        r = await self.client.request(**kwargs)
        self.sent += 1
        after = await counts(self.db)
        content_type = r.headers.get("content-type", "")
        problem = content_type.startswith(PROBLEM)
        if not str(r.request.url.path).startswith("/api/"):
            # The public's pages answer with an HTML page (or, for a path no route takes,
            # the app's problem+json).
            problem = problem or content_type.startswith("text/html")
        ok = 400 <= r.status_code < 500 and problem
        if not refused:
            ok = r.status_code < 400 or ok
        if not ok:
            snippet = r.text[:160].replace("\n", " ")
            self.wrong.append(f"{label}: got {r.status_code} {snippet}")
        if after != before:
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            self.wrong.append(f"{label}: wrote {changed}")

    def verdict(self) -> None:
        assert self.sent > 0
        assert not self.wrong, f"{len(self.wrong)} of {self.sent} abusive requests:\n" + (
            "\n".join(self.wrong)
        )


@pytest.fixture
async def world(session):
    return await seed(session, ("comms_admin",))


@pytest.fixture
def auth(tokens):
    return {
        "comms_admin": tokens.headers("comms_admin", force=FORCE),
        "admin": tokens.headers("admin", force=None),
    }


def _request(method: str, path: str, world: dict[str, Any], auth: dict[str, Any]) -> dict:
    role, variant = _caller(method, path)
    kwargs = build(method, path, world, variant)
    kwargs["headers"] = {**kwargs["headers"], **auth[role]}
    return kwargs


# --- bodies ------------------------------------------------------------------------------


async def test_hostile_field_values_are_refused_and_write_nothing(app, client, db, world, auth):
    check = Checker(client, db)
    for method, path, schema in json_body_routes(app):
        base = _request(method, path, world, auth)
        valid = base.get("json") or {}
        assert isinstance(valid, dict), f"{method} {path}: CALLS body must be an object"
        for name, prop in schema.get("properties", {}).items():
            for label, value in _field_values(_resolve(app.openapi(), prop)):
                kwargs = {k: v for k, v in base.items() if k != "json"}
                kwargs["headers"] = {**base["headers"], "Content-Type": "application/json"}
                kwargs["content"] = json_text({**valid, name: value})
                await check.expect_4xx(f"{method} {path} {name}={label}", **kwargs)
    check.verdict()


async def test_hostile_whole_bodies_and_content_types_are_refused(app, client, db, world, auth):
    check = Checker(client, db)
    for method, path, _schema in json_body_routes(app):
        base = _request(method, path, world, auth)
        valid = json.dumps(base.pop("json", None) or {}).encode()
        headers = base.pop("headers")
        cases: list[tuple[str, dict[str, str], bytes]] = [
            ("nested 100,000 deep", {"Content-Type": "application/json"},
             b"[" * 100_000 + b"]" * 100_000),
            ("10,000-element array", {"Content-Type": "application/json"},
             json.dumps(["x"] * 10_000).encode()),
            ("a string", {"Content-Type": "application/json"}, b'"hello"'),
            ("NUL bytes", {"Content-Type": "application/json"}, b"{\x00}"),
            ("invalid UTF-8", {"Content-Type": "application/json"}, b'{"a": "\xff\xfe"}'),
            ("text/plain", {"Content-Type": "text/plain"}, valid),
            ("form", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1&b=2"),
            ("multipart", {"Content-Type": "multipart/form-data; boundary=xx"},
             b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xx--\r\n'),
            ("no content type", {}, valid),
            ("empty", {"Content-Type": "application/json"}, b""),
        ]  # fmt: skip
        for label, extra, content in cases:
            if (
                label == "empty"
                and "{" in path
                and path.endswith(("/approve", "/reject", "/withdraw", "/cancel", "/complete"))
            ):
                continue  # an empty body is a valid "no comment" on a request move
            await check.expect_4xx(
                f"{method} {path} body={label}",
                **base,
                headers={**headers, **extra},
                content=content,
            )
    check.verdict()


async def test_csv_routes_refuse_other_content_types_and_garbage(app, client, db, world, auth):
    check = Checker(client, db)
    csv_routes = [key for key, call in CALLS.items() if call.csv is not None]
    assert csv_routes
    for method, path in csv_routes:
        base = _request(method, path, world, auth)
        valid = base.pop("content").decode()
        headers = base.pop("headers")
        cases = [
            ("json", "application/json", b'{"a": 1}'),
            ("multipart", "multipart/form-data; boundary=xx", b"--xx--\r\n"),
            ("NUL", "text/csv", b"platform,handle\nx,a\x00b\n"),
            ("invalid UTF-8", "text/csv", b"platform,handle\nx,\xff\xfe\n"),
            ("100k-char cell", "text/csv", b"platform,handle\nx," + b"a" * 100_000 + b"\n"),
            ("header only", "text/csv", b"platform,handle\n"),
        ]  # fmt: skip
        if ",10," in valid:  # a count column: make it overflow every integer type
            huge = valid.replace(",10,", "," + "9" * 40 + ",")
            cases.append(("huge integer", "text/csv", huge.encode()))
        for label, ctype, content in cases:
            await check.expect_4xx(
                f"{method} {path} csv={label}",
                **base,
                headers={**headers, "Content-Type": ctype},
                content=content,
            )
    check.verdict()


# --- paths and query strings -------------------------------------------------------------

BAD_PATH_VALUES = [
    ("not a uuid", "not-a-uuid"),
    ("uuid-ish", "123e4567-e89b-12d3-a456-4266141740zz"),
    ("NUL", "a%00b"),
    ("10k chars", "a" * 10_000),
    ("quote", "'%20OR%201=1--"),
    ("dot-dot", "..%2F..%2Fetc"),
]


async def test_malformed_path_parameters_are_refused(app, client, db, world, auth):
    check = Checker(client, db)
    for method, path, _route in api_routes(app):
        role, variant = _caller(method, path)
        for name in _PARAM.findall(path):
            for label, bad in BAD_PATH_VALUES:
                kwargs = build(method, path, world, variant, raw_path={name: bad})
                kwargs["headers"] = {**kwargs["headers"], **auth[role]}
                await check.expect_4xx(f"{method} {path} {name}={label}", **kwargs)
    check.verdict()


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# (label, value, must be refused): values no route may take, and values some may.
BAD_QUERY_VALUES = [
    ("NUL", "a\x00b", True),
    ("20k chars", "q" * 20_000, True),  # httpx refuses to build a longer query
    ("control chars", "\x01\x02\x1b", False),
]
BAD_LIMITS = [("-1", "-1"), ("0", "0"), ("201", "201"), ("2**63", str(2**63)),
              ("10**30", str(10**30)), ("1e3", "1e3"), ("NUL", "5\x00")]  # fmt: skip
BAD_CURSORS = [
    ("garbage", "!!!not-base64!!!", True),
    ("not JSON", _cursor("x")[:-2] + "@@", True),
    ("wrong shape", _cursor({"a": 1}), True),
    ("NUL single", _cursor(["\x00"]), True),
    ("NUL pair", _cursor(["\x00", "\x00"]), True),
    ("NUL triple", _cursor(["\x00", "\x00", "\x00"]), True),
    ("too long", "A" * 600, True),
    ("huge number", _cursor([str(10**30)]), False),
    ("superscript digit", _cursor(["\u00b2"]), False),
    ("bad dates", _cursor(["99999-01-01", "2026-13-01", "x"]), False),
    ("time pair", _cursor(["2026-01-01T00:00:00+00:00", "not-a-uuid"]), False),
    ("huge pair", _cursor([str(10**30), str(2**63)]), False),
]


async def test_hostile_query_parameters_are_refused(app, client, db, world, auth):
    check = Checker(client, db)
    for method, path, route in api_routes(app):
        names = {p.alias or p.name for p in route.dependant.query_params}
        if not names:
            continue
        base = _request(method, path, world, auth)  # CSV routes keep their valid body
        cases: list[tuple[str, str, str, bool]] = []
        for name in sorted(names):
            cases += [(name, *case) for case in BAD_QUERY_VALUES]
        if "limit" in names:
            cases += [("limit", label, value, True) for label, value in BAD_LIMITS]
        if "cursor" in names:
            cases += [("cursor", *case) for case in BAD_CURSORS]
        for name, label, value, refused in cases:
            kwargs = {**base, "params": {**base["params"], name: value}}
            expect = check.expect_4xx if refused else check.expect_no_5xx
            await expect(f"{method} {path} ?{name}={label}", **kwargs)
    check.verdict()


# --- headers -----------------------------------------------------------------------------


async def test_huge_headers_are_refused_on_every_route(app, client, db, world, auth):
    check = Checker(client, db)
    for method, path, _route in api_routes(app):
        base = _request(method, path, world, auth)
        await check.expect_4xx(
            f"{method} {path} 64 KiB Authorization",
            **{**base, "headers": {**base["headers"], "Authorization": "Bearer " + "a" * 65_536}},
        )
        await check.expect_4xx(
            f"{method} {path} 64 KiB custom header",
            **{**base, "headers": {**base["headers"], "X-Padding": "p" * 65_536}},
        )
    check.verdict()


# --- rate limits ------------------------------------------------------------------------


async def test_public_routes_answer_429_with_retry_after_over_the_limit(settings, db, session):
    await make_force(session, FORCE)
    limited = create_app(settings.model_copy(update={"public_rate_limit": 2}), database=db)
    clock.freeze(datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC))
    public = [path for _, path, _ in api_routes(limited) if path.startswith("/api/v1/public/")]
    assert len(public) >= 2
    for n, path in enumerate(public):
        transport = httpx.ASGITransport(app=limited, client=(f"203.0.113.{n + 1}", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            params = {"url": "https://x.com/abc"}
            answers = [(await c.get(path, params=params)).status_code for _ in range(2)]
            # Answered within the limit (the audit key is a 404 where none is set up).
            assert answers in ([200, 200], [404, 404]), (path, answers)
            r = await c.get(path, params=params)
            assert r.status_code == 429, (path, r.status_code)
            assert r.headers["content-type"].startswith(PROBLEM)
            assert r.json()["code"] == "rate-limited"
            assert 1 <= int(r.headers["retry-after"]) <= 60


# --- regressions for what the walks above found ------------------------------------------


async def test_nul_in_a_path_or_query_is_422_before_any_query_runs(client, tokens, session):
    # PostgreSQL refused the NUL deep in a query (500); SQLite happily searched for it.
    await make_force(session, FORCE)
    headers = tokens.headers("comms_admin", force=FORCE)
    for url in ("/api/v1/forces/a%00b", "/api/v1/accounts?q=a%00b", "/api/v1/audit?actor=%00"):
        r = await client.get(url, headers=headers)
        assert r.status_code == 422, url
        assert r.headers["content-type"] == PROBLEM
        assert "NUL" in r.json()["detail"]


async def test_request_headers_over_32_kib_are_431(client, tokens, session):
    await make_force(session, FORCE)
    headers = {**tokens.headers("comms_admin", force=FORCE), "X-Padding": "p" * (32 << 10)}
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 431
    assert r.json()["code"] == "headers-too-large"
    headers["X-Padding"] = "p" * (16 << 10)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_a_cursor_holding_nul_is_not_one_the_service_issued(client, session):
    await make_force(session, FORCE)
    r = await client.get("/api/v1/public/accounts", params={"cursor": _cursor(["\x00", "x"])})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("value", [str(10**30), "\u00b2", "-1"])
async def test_an_audit_cursor_must_be_an_event_id_that_fits_bigint(client, tokens, value):
    headers = tokens.headers("admin", force=None)
    r = await client.get("/api/v1/audit", params={"cursor": _cursor([value])}, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("value", [-1, 0, 1_700_000_000, 1.5, "1699920000", "0.5"])
async def test_a_json_number_is_not_a_date_or_time(client, tokens, session, value):
    # Pydantic reads numbers (and digit strings) as Unix times: -1 published a guideline
    # effective in 1969.
    await make_force(session, FORCE)
    body = {
        "force": FORCE,
        "code": "g",
        "title": "Guideline",
        "document_url": "https://intranet.example/g.pdf",
        "sha256": "a" * 64,
        "effective_from": value,
    }
    r = await client.post(
        "/api/v1/guidelines", json=body, headers=tokens.headers("admin", force=None)
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "effective_from"]
    body["effective_from"] = "2030-01-01T00:00:00Z"
    r = await client.post(
        "/api/v1/guidelines", json=body, headers=tokens.headers("admin", force=None)
    )
    assert r.status_code == 201
