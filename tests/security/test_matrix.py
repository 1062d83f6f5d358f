"""Walk every route of the app x every role against the authorization matrix (matrix.py).

One data set is seeded per role (two forces: the caller's `staffs` and another, `wmids`);
the walk calls each route as that role of `staffs` (expecting the matrix's answer), and
each object route as the same role of `wmids` (expecting 404 where the role is allowed:
another force's object does not exist for them). Every mismatch is collected and
reported at once.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from jose import jwt

from app import clock
from tests.conftest import TEST_SECRET
from tests.factories import (
    make_account,
    make_activity,
    make_attestation,
    make_force,
    make_guideline,
    make_hold,
    make_objective,
    make_person,
    make_request,
    make_unit,
    make_webhook,
    sign,
)
from tests.security.matrix import (
    ADMIN_MIXES,
    ALLOW,
    CALLS,
    DENY,
    MATRIX,
    MIXED_REFUSED,
    NATIONAL,
    NOT_OWN,
    OWN,
    OWN_VISIBLE,
    ROLES,
    Call,
    api_routes,
    is_public,
    outcomes,
)

FORCE, OTHER_FORCE = "staffs", "wmids"
_PARAM = re.compile(r"{(\w+)}")
_n = itertools.count(1)


@dataclass(frozen=True)
class Pair:
    """A seeded object in two versions: the caller's own and someone else's."""

    own: Any
    other: Any


def _sub(roles: tuple[str, ...], force: str | None) -> str:
    """The subject `tokens.headers(*roles, force=force)` signs."""
    return f"{'-'.join(roles)}@{force or 'national'}"


def _force_of(roles: tuple[str, ...]) -> str | None:
    """Tokens with a force role name a force; purely national ones none."""
    return None if set(roles) <= set(NATIONAL) else FORCE


def _linked(roles: tuple[str, ...]) -> bool:
    """Whether the seeded caller has a person record (in each force): force-scoped callers
    do; admins (also with a force role, which the matrix gives the admin column) do not."""
    return _force_of(roles) is not None and "admin" not in roles


async def seed(session: Any, roles: tuple[str, ...]) -> dict[str, Any]:
    """Force `staffs` with one object behind every path parameter of the API, for a caller
    holding `roles` (its own objects are those of `_sub(roles, staffs)`)."""
    staffs = await make_force(session, FORCE)
    wmids = await make_force(session, OTHER_FORCE)
    sub = _sub(roles, _force_of(roles))
    unit = await make_unit(session, staffs)
    objective = await make_objective(session, staffs)
    owner = await make_person(session, staffs, subject="owner@staffs")
    editor = await make_person(session, staffs)
    spare = await make_person(session, staffs)
    caller = None
    if _linked(roles):
        caller = await make_person(session, staffs, subject=sub)
        await make_person(session, wmids, subject=_sub(roles, OTHER_FORCE))
    me = caller or owner
    guideline = await make_guideline(session, staffs)
    signoffs = {p.id: await sign(session, p, guideline) for p in {owner, editor, me}}
    own = await make_account(session, staffs, owner=me)
    other = await make_account(
        session, staffs, owner=owner, objectives=(objective,), unit_id=unit.id
    )
    own_request = await make_request(session, await make_account(session, staffs, owner=me),
                                     requested_by=sub)  # fmt: skip
    other_request = await make_request(
        session, await make_account(session, staffs, owner=owner), requested_by="owner@staffs"
    )
    today = clock.today()
    activity = [
        await make_activity(session, a, today.replace(day=1), today, original_posts=3)
        for a in (own, other)
    ]
    return {
        "event_id": await _audit_event(session, staffs.id),
        "force": FORCE,
        "code": FORCE,
        "today": today.isoformat(),
        "other_handle": other.handle,
        "unit_id": unit.id,
        "objective_id": objective.id,
        "person_id": Pair(me.id, owner.id),
        "editor_id": editor.id,
        "spare_id": spare.id,
        "account_id": Pair(own.id, other.id),
        "hold_id": Pair((await make_hold(session, own)).id, (await make_hold(session, other)).id),
        "activity_id": Pair(activity[0].id, activity[1].id),
        "attestation_id": Pair(
            (await make_attestation(session, own, me)).id,
            (await make_attestation(session, other, owner)).id,
        ),
        "guideline_id": guideline.id,
        "signoff_id": Pair(signoffs[me.id].id, signoffs[owner.id].id),
        "request_id": Pair(own_request.id, other_request.id),
        "campaign_id": await _campaign(session, staffs.id),
        "item": "content_archived",
        **await _webhook(session, staffs),
        "credential_id": await _scim_credential(session, staffs.id),
    }


async def _webhook(session: Any, force: Any) -> dict[str, Any]:
    hook, delivery = await make_webhook(session, force)
    return {"webhook_id": hook.id, "delivery_id": delivery.id}


async def _campaign(session: Any, force_id: uuid.UUID) -> uuid.UUID:
    from datetime import timedelta

    from app.models import Campaign

    campaign = Campaign(
        force_id=force_id, name="Matrix review", message="", scope={},
        due_on=clock.today() + timedelta(days=30), total=0, created_by="seed",
    )  # fmt: skip
    session.add(campaign)
    await session.commit()
    return campaign.id


async def _scim_credential(session: Any, force_id: uuid.UUID) -> uuid.UUID:
    from app.models import ScimCredential

    made = ScimCredential(force_id=force_id, name="matrix", secret_sha256=uuid.uuid4().hex * 2,
                          created_by="matrix")  # fmt: skip
    session.add(made)
    await session.commit()
    return made.id


async def _audit_event(session: Any, force_id: uuid.UUID) -> int:
    """An audit event of the force (committed: its id is a path parameter)."""
    import sqlalchemy as sa

    from app.audit import service as audit
    from app.models import AuditEvent

    audit.record(session, audit.Actor.system(), "matrix.seeded", "force", force_id,
                 force_id=force_id)  # fmt: skip
    await session.commit()
    return int(await session.scalar(sa.select(sa.func.max(AuditEvent.id))))


def dummy_world() -> dict[str, Any]:
    """Values for every placeholder without any data behind them."""
    ids = {k: uuid.uuid4() for k in ("unit_id", "objective_id", "person_id", "editor_id",
                                     "spare_id", "account_id", "hold_id", "activity_id",
                                     "attestation_id", "guideline_id", "signoff_id",
                                     "request_id", "webhook_id", "delivery_id",
                                     "campaign_id", "credential_id")}  # fmt: skip
    return {**ids, "event_id": 987654321, "force": FORCE, "code": FORCE, "today": "2026-01-01",
            "other_handle": "nobody", "item": "content_archived"}  # fmt: skip


def _value(world: dict[str, Any], key: str, variant: str) -> str:
    value = world[key] if key != "n" else next(_n)
    if isinstance(value, Pair):
        value = value.own if variant == "own" else value.other
    return str(value)


def _fill(template: Any, world: dict[str, Any], variant: str) -> Any:
    if isinstance(template, str):
        return _PARAM.sub(lambda m: _value(world, m.group(1), variant), template)
    if isinstance(template, dict):
        return {k: _fill(v, world, variant) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, world, variant) for v in template]
    return template


def build(
    method: str,
    path: str,
    world: dict[str, Any],
    variant: str = "other",
    raw_path: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of `client.request` for one call of a route (`raw_path`:
    path parameters to send verbatim instead of the seeded objects)."""
    call = CALLS.get((method, path), Call())
    raw = raw_path or {}

    def param(m: re.Match[str]) -> str:
        name = m.group(1)
        return raw[name] if name in raw else _value(world, call.params.get(name, name), variant)

    url = _PARAM.sub(param, path)
    kwargs: dict[str, Any] = {
        "method": method,
        "url": url,
        "params": _fill(call.query, world, variant),
        "headers": dict(call.headers),
    }
    if call.csv is not None:
        kwargs["content"] = _fill(call.csv, world, variant).encode()
        kwargs["headers"]["Content-Type"] = "text/csv"
    elif call.json is not None:
        kwargs["json"] = _fill(call.json, world, variant)
    elif method in ("POST", "PATCH"):
        kwargs["json"] = {}
    return kwargs


async def send(client: httpx.AsyncClient, kwargs: dict[str, Any], auth: dict[str, str]) -> Any:
    return await client.request(**{**kwargs, "headers": {**kwargs["headers"], **auth}})


def _allowed(status: int) -> bool:
    return status not in (401, 403) and status < 500


def _mismatch(route: tuple[str, str], who: str, variant: str, want: str, r: Any) -> str:
    body = r.text[:200].replace("\n", " ")
    return f"{route[0]} {route[1]} as {who} ({variant}): want {want}, got {r.status_code} {body}"


def _routes(app: Any) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in api_routes(app)]


# --- the table covers the app, and the app the table -----------------------------------


def test_every_route_has_a_matrix_row_and_every_row_a_route(app):
    served = set(_routes(app))
    missing = sorted(served - MATRIX.keys())
    stale = sorted(MATRIX.keys() - served)
    assert not missing, f"routes without a row in tests/security/matrix.py: {missing}"
    assert not stale, f"matrix rows for routes the app does not serve: {stale}"
    assert not (CALLS.keys() - served), f"CALLS for unknown routes: {CALLS.keys() - served}"
    for route in MATRIX:
        outcomes(route)  # every row parses


# --- callers without a usable token ------------------------------------------------------


def _expired_token() -> str:
    now = int(time.time())
    claims = {"sub": "admin@national", "roles": ["admin"], "iss": "registry",
              "aud": "registry", "iat": now - 7200, "exp": now - 3600}  # fmt: skip
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


def _tampered(token: str) -> str:
    head, claims, signature = token.split(".")
    return f"{head}.{claims}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


@pytest.mark.parametrize("who", ["anonymous", "expired", "bad-signature"])
async def test_callers_without_a_valid_token_get_401_except_on_public_routes(
    app, client, tokens, who
):
    auth = {
        "anonymous": {},
        "expired": {"Authorization": f"Bearer {_expired_token()}"},
        "bad-signature": {
            "Authorization": f"Bearer {_tampered(tokens.token('admin', force=None))}"
        },
    }[who]
    world = dummy_world()
    wrong = []
    for route in _routes(app):
        r = await send(client, build(*route, world), auth)
        if is_public(route):
            if not _allowed(r.status_code):
                wrong.append(_mismatch(route, who, "dummy", "public", r))
        elif r.status_code != 401 or "bearer" not in r.headers.get("www-authenticate", "").lower():
            wrong.append(_mismatch(route, who, "dummy", "401 + WWW-Authenticate", r))
        elif not r.headers["content-type"].startswith("application/problem+json"):
            wrong.append(_mismatch(route, who, "dummy", "problem+json", r))
    assert not wrong, "\n".join(wrong)


async def test_a_token_with_no_known_role_gets_403_everywhere_but_public_routes(
    app, client, session, tokens
):
    await make_force(session, FORCE)
    auth = tokens.headers("janitor", force=FORCE)
    world = dummy_world()
    wrong = []
    for route in _routes(app):
        r = await send(client, build(*route, world), auth)
        want_ok = is_public(route)
        if (want_ok and not _allowed(r.status_code)) or (not want_ok and r.status_code != 403):
            wrong.append(_mismatch(route, "janitor", "dummy", "403", r))
    assert not wrong, "\n".join(wrong)


# --- every role, own force and another force ---------------------------------------------


async def _other_force_walk(app, client, tokens, role, world) -> list[str]:
    """Force-scoped callers of `wmids` on `staffs` objects: 404 if allowed, else 403."""
    auth = tokens.headers(role, force=OTHER_FORCE)
    wrong = []
    for method, path, route in api_routes(app):
        key = (method, path)
        if is_public(key):
            continue
        code = outcomes(key)[role]
        names_force = method == "GET" and any(
            p.name == "force" for p in route.dependant.query_params
        )
        if "{" not in path and not names_force:
            continue
        kwargs = build(method, path, world)
        if "{" not in path:
            kwargs["params"] = {**kwargs["params"], "force": FORCE}
        r = await send(client, kwargs, auth)
        want = 403 if code == DENY else 404
        if r.status_code != want:
            wrong.append(_mismatch(key, f"{role}@{OTHER_FORCE}", "other", str(want), r))
    return wrong


async def _own_force_walk(app, client, tokens, roles, column, world) -> list[str]:
    """Callers holding `roles` on `staffs` objects, against the matrix column `column`."""
    auth = tokens.headers(*roles, force=_force_of(roles))
    who = "+".join(roles)
    wrong = []
    for route in _routes(app):
        code = outcomes(route)[column]
        # (variant, expectation) in call order: own before other.
        plan = {
            ALLOW: [("other", "allowed")],
            DENY: [("other", "403")],
            OWN: [("own", "allowed"), ("other", "403")],
            OWN_VISIBLE: [("own", "allowed"), ("other", "404")],
            NOT_OWN: [("own", "403"), ("other", "allowed")],
        }[code]
        for variant, want in plan:
            r = await send(client, build(*route, world, variant), auth)
            ok = _allowed(r.status_code) if want == "allowed" else r.status_code == int(want)
            if not ok:
                wrong.append(_mismatch(route, who, variant, want, r))
    return wrong


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_what_the_matrix_says(app, client, session, tokens, role):
    world = await seed(session, (role,))
    wrong = []
    if role not in NATIONAL:
        # First, while nothing has been changed by the walk in the caller's own force.
        wrong += await _other_force_walk(app, client, tokens, role, world)
    wrong += await _own_force_walk(app, client, tokens, (role,), role, world)
    assert not wrong, f"{len(wrong)} answers differ from the matrix:\n" + "\n".join(wrong)


# --- tokens holding several roles ------------------------------------------------------


@pytest.mark.parametrize("roles", sorted(ADMIN_MIXES), ids="+".join)
async def test_admin_with_a_force_role_gets_the_admin_column(app, client, session, tokens, roles):
    """admin grants every permission already: a force role beside it changes nothing."""
    world = await seed(session, roles)
    wrong = await _own_force_walk(app, client, tokens, roles, ADMIN_MIXES[roles], world)
    assert not wrong, f"{len(wrong)} answers differ from the matrix:\n" + "\n".join(wrong)


@pytest.mark.parametrize("roles", MIXED_REFUSED, ids="+".join)
async def test_a_token_mixing_national_and_force_roles_is_refused_on_every_route(
    app, client, session, tokens, roles
):
    """auditor + a force role, whether the token names the objects' force or another:
    403 `mixed-roles` on every route, on the caller's own objects and on anyone's."""
    world = await seed(session, roles)
    wrong = []
    for force in (FORCE, OTHER_FORCE):
        auth = tokens.headers(*roles, force=force)
        for route in _routes(app):
            if is_public(route):
                continue
            for variant in ("own", "other"):
                r = await send(client, build(*route, world, variant), auth)
                if r.status_code != 403 or r.json().get("code") != "mixed-roles":
                    who = f"{'+'.join(roles)}@{force}"
                    wrong.append(_mismatch(route, who, variant, "403 mixed-roles", r))
    assert not wrong, f"{len(wrong)} routes let a mixed caller through:\n" + "\n".join(wrong)
