"""Anonymous operators stay hidden in every response (app/auth/redaction.py).

One anonymous official account of `staffs` (its force's staff read it too), run by an
owner (who attested, then left) and an editor (who signed one guideline version but not
the next, and asked for the account to be handed to them), with a legal hold, a request,
history, audit events and compliance reasons about it — all made through the API. The
walk then calls every route of the API as every kind of caller and looks for the
operators' person ids, names, sign-in subjects, emails and staff ids in the body (JSON
and CSV):

- callers who may not see the operators (SPEC §3) must find none of them anywhere;
- callers who may (the account's force comms_admin and psd, admin, the editor itself) must
  find them on every route that is about them, so the test fails both ways.

`ROUTES` lists every route of the app: a new route without an entry fails the suite.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app import clock
from app.auth import redaction
from app.auth.principal import Principal
from tests.factories import make_force, make_guideline
from tests.security.matrix import api_routes

API = "/api/v1"
V = API

# Callers: name -> (roles, force, sub). `operator` is the editor of the anonymous account.
CALLERS: dict[str, tuple[tuple[str, ...], str | None, str | None]] = {
    "staff": (("staff",), "staffs", "sub-sam-colleague"),
    "operator": (("staff",), "staffs", "sub-edgar-hidden-editor"),
    "staff_other_force": (("staff",), "wmids", "sub-wm-staff"),
    "comms_admin": (("comms_admin",), "staffs", None),
    "psd": (("psd",), "staffs", None),
    "collector": (("collector",), "staffs", None),
    "auditor": (("auditor",), None, None),
    "admin": (("admin",), None, None),
    "comms_admin_other_force": (("comms_admin",), "wmids", None),
    "auditor_and_other_comms_admin": (("auditor", "comms_admin"), "wmids", None),
}
# Who may see the anonymous account's operators (app.auth.redaction).
MAY_SEE = frozenset({"operator", "comms_admin", "psd", "admin"})
OVERSIGHT = frozenset({"comms_admin", "psd", "admin"})
ACCOUNT_READERS = OVERSIGHT | {"operator"}

# Every route: which callers must find the operators in its answer (empty: a route that
# carries no person, or a write, walked for the callers who may not see them only).
ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", f"{V}/me"): frozenset({"operator"}),
    ("GET", f"{V}/forces"): frozenset(),
    ("POST", f"{V}/forces"): frozenset(),
    ("GET", f"{V}/forces/{{code}}"): frozenset(),
    ("PATCH", f"{V}/forces/{{code}}"): frozenset(),
    ("POST", f"{V}/forces/{{code}}/scim-credentials"): frozenset(),
    ("GET", f"{V}/forces/{{code}}/scim-credentials"): frozenset(),
    ("POST", f"{V}/forces/{{code}}/scim-credentials/{{credential_id}}/rotate"): frozenset(),
    ("DELETE", f"{V}/forces/{{code}}/scim-credentials/{{credential_id}}"): frozenset(),
    ("GET", f"{V}/units"): frozenset(),
    ("POST", f"{V}/units"): frozenset(),
    ("GET", f"{V}/units/{{unit_id}}"): frozenset(),
    ("PATCH", f"{V}/units/{{unit_id}}"): frozenset(),
    ("DELETE", f"{V}/units/{{unit_id}}"): frozenset(),
    ("GET", f"{V}/people"): OVERSIGHT | {"operator"},  # the operator: their own record
    ("POST", f"{V}/people"): frozenset(),
    ("GET", f"{V}/people/{{person_id}}"): OVERSIGHT,
    ("PATCH", f"{V}/people/{{person_id}}"): frozenset(),
    ("POST", f"{V}/people/{{person_id}}/leave"): frozenset(),
    ("GET", f"{V}/people/{{person_id}}/export"): frozenset({"psd", "admin"}),
    ("GET", f"{V}/objectives"): frozenset(),
    ("POST", f"{V}/objectives"): frozenset(),
    ("GET", f"{V}/objectives/{{objective_id}}"): frozenset(),
    ("PATCH", f"{V}/objectives/{{objective_id}}"): frozenset(),
    ("GET", f"{V}/accounts"): ACCOUNT_READERS,
    ("POST", f"{V}/accounts"): frozenset(),
    ("GET", f"{V}/accounts/{{account_id}}"): ACCOUNT_READERS,
    ("PATCH", f"{V}/accounts/{{account_id}}"): frozenset(),
    ("POST", f"{V}/accounts/{{account_id}}/editors"): frozenset(),
    ("DELETE", f"{V}/accounts/{{account_id}}/editors/{{person_id}}"): frozenset(),
    ("GET", f"{V}/accounts/{{account_id}}/custodians"): OVERSIGHT,
    ("GET", f"{V}/accounts/{{account_id}}/history"): OVERSIGHT,
    ("GET", f"{V}/people/{{person_id}}/accounts"): OVERSIGHT,
    ("GET", f"{V}/lookup"): OVERSIGHT,
    ("GET", f"{V}/accounts/{{account_id}}/lookalikes"): frozenset(),
    ("POST", f"{V}/lookalikes/check"): frozenset(),
    ("GET", f"{V}/accounts/{{account_id}}/holds"): frozenset(),
    ("POST", f"{V}/accounts/{{account_id}}/holds"): frozenset(),
    ("DELETE", f"{V}/accounts/{{account_id}}/holds/{{hold_id}}"): frozenset(),
    ("POST", f"{V}/guidelines"): frozenset(),
    ("GET", f"{V}/guidelines"): frozenset(),
    ("GET", f"{V}/guidelines/{{guideline_id}}"): frozenset(),
    ("POST", f"{V}/guidelines/{{guideline_id}}/signoffs"): frozenset(),
    ("GET", f"{V}/signoffs"): OVERSIGHT,
    ("GET", f"{V}/signoffs/{{signoff_id}}"): OVERSIGHT | {"operator"},  # the editor's own
    ("GET", f"{V}/people/{{person_id}}/signoffs"): OVERSIGHT,
    ("POST", f"{V}/accounts/{{account_id}}/activity"): frozenset(),
    ("GET", f"{V}/accounts/{{account_id}}/activity"): frozenset(),
    ("GET", f"{V}/accounts/{{account_id}}/activity/{{activity_id}}"): frozenset(),
    ("POST", f"{V}/imports/activity"): frozenset(),
    ("POST", f"{V}/accounts/{{account_id}}/attest"): frozenset(),
    ("GET", f"{V}/accounts/{{account_id}}/attestations"): OVERSIGHT,
    ("GET", f"{V}/accounts/{{account_id}}/attestations/{{attestation_id}}"): OVERSIGHT,
    ("POST", f"{V}/requests"): frozenset(),
    ("GET", f"{V}/requests"): ACCOUNT_READERS,
    ("GET", f"{V}/requests/{{request_id}}"): ACCOUNT_READERS,
    ("POST", f"{V}/requests/bulk"): frozenset(),
    ("POST", f"{V}/campaigns"): frozenset(),
    ("GET", f"{V}/campaigns"): frozenset(),
    ("GET", f"{V}/campaigns/{{campaign_id}}"): frozenset(),
    ("POST", f"{V}/campaigns/{{campaign_id}}/close"): frozenset(),
    ("POST", f"{V}/requests/{{request_id}}/approve"): frozenset(),
    ("POST", f"{V}/requests/{{request_id}}/reject"): frozenset(),
    ("POST", f"{V}/requests/{{request_id}}/withdraw"): frozenset(),
    ("POST", f"{V}/requests/{{request_id}}/cancel"): frozenset(),
    ("POST", f"{V}/requests/{{request_id}}/complete"): frozenset(),
    ("POST", f"{V}/requests/{{request_id}}/checklist/{{item}}"): frozenset(),
    ("GET", f"{V}/audit"): OVERSIGHT,
    ("GET", f"{V}/audit/verify"): frozenset(),
    # An event of the anonymous account, whole with its leaf, to those who see operators.
    ("GET", f"{V}/audit/events/{{event_id}}"): OVERSIGHT,
    ("GET", f"{V}/audit/checkpoint"): frozenset(),
    ("GET", f"{V}/audit/checkpoints"): frozenset(),
    ("POST", f"{V}/audit/checkpoints"): frozenset(),
    ("GET", f"{V}/audit/proof/inclusion"): frozenset(),
    ("GET", f"{V}/audit/proof/consistency"): frozenset(),
    ("GET", f"{V}/public/audit-key"): frozenset(),
    ("GET", f"{V}/reports/summary"): frozenset(),
    ("GET", f"{V}/reports/summary.csv"): frozenset(),
    ("GET", f"{V}/reports/compliance"): OVERSIGHT,
    ("POST", f"{V}/imports/accounts"): frozenset(),
    ("GET", f"{V}/public/verify"): frozenset(),
    ("POST", f"{V}/webhooks"): frozenset(),
    ("GET", f"{V}/webhooks"): frozenset(),
    ("GET", f"{V}/webhooks/{{webhook_id}}"): frozenset(),
    ("PATCH", f"{V}/webhooks/{{webhook_id}}"): frozenset(),
    ("DELETE", f"{V}/webhooks/{{webhook_id}}"): frozenset(),
    ("POST", f"{V}/webhooks/{{webhook_id}}/ping"): frozenset(),
    ("POST", f"{V}/webhooks/{{webhook_id}}/rotate-secret"): frozenset(),
    ("GET", f"{V}/webhooks/{{webhook_id}}/deliveries"): frozenset(),
    ("POST", f"{V}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/redeliver"): frozenset(),
    ("GET", f"{V}/public/accounts"): frozenset(),
    ("GET", f"{V}/public/feed.atom"): frozenset(),
    # The public's HTML pages (outside /api/v1 and the OpenAPI document).
    ("GET", "/verify"): frozenset(),
    ("GET", "/directory/{force}"): frozenset(),
}
# Routes answering CSV as well as JSON.
CSV_ROUTES = frozenset({f"{V}/accounts", f"{V}/reports/compliance", f"{V}/reports/summary"})
# Schemas that carry a person: a GET route answering one must expect someone to see it.
PERSON_SCHEMAS = frozenset(
    {"Operator", "PersonRef", "PersonRead", "MyPerson", "AuditEventRead"}
    | {f"{kind}Request{form}" for kind in ("Registration", "Transfer", "Decommission",
                                          "OwnerChange") for form in ("Summary", "Read")}
)  # fmt: skip


@dataclass(frozen=True)
class Operator:
    id: uuid.UUID
    name: str
    subject: str
    email: str
    staff_id: str

    def secrets(self) -> list[str]:
        return [str(self.id), self.name, self.subject, self.email, self.staff_id]


@dataclass
class World:
    owner: Operator
    editor: Operator
    account_id: str
    request_id: str
    hold_id: str
    signoff_id: str
    attestation_id: str
    guideline_id: str
    unit_id: str
    objective_id: str
    activity_id: str
    event_id: str
    built_at: datetime
    campaign_id: str = ""

    def secrets(self) -> list[str]:
        return self.owner.secrets() + self.editor.secrets()


def _headers(tokens: Any, caller: str) -> dict[str, str]:
    roles, force, sub = CALLERS[caller]
    return tokens.headers(*roles, force=force, sub=sub)


async def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def _person(client: httpx.AsyncClient, headers: dict[str, str], **body: str) -> Operator:
    made = await _ok(await client.post(f"{API}/people", json=body, headers=headers))
    return Operator(
        id=uuid.UUID(made["id"]),
        name=body["name"],
        subject=body["subject"],
        email=body["email"],
        staff_id=body["staff_id"],
    )


async def build_world(client: httpx.AsyncClient, tokens: Any, session: Any) -> World:
    """Everything about the anonymous account, made through the API (so audit events,
    history and reasons are the product's own)."""
    staffs = await make_force(session, "staffs", signoff_grace_days=30)
    await make_force(session, "wmids")
    comms = tokens.headers("comms_admin")
    owner = await _person(
        client, comms, staff_id="HID-OWNER-7731", name="Olive Quillfeather",
        subject="sub-olive-hidden-owner", email="olive.quillfeather@staffs.police.uk",
    )  # fmt: skip
    editor = await _person(
        client, comms, staff_id="HID-EDITOR-4412", name="Edgar Thistlewood",
        subject="sub-edgar-hidden-editor", email="edgar.thistlewood@staffs.police.uk",
    )  # fmt: skip
    await _person(
        client, comms, staff_id="SAM-1", name="Sam Colleague", subject="sub-sam-colleague",
        email="sam.colleague@staffs.police.uk",
    )  # fmt: skip
    unit = await _ok(
        await client.post(
            f"{API}/units", json={"name": "Night shift", "kind": "other"}, headers=comms
        )
    )
    objective = await _ok(
        await client.post(
            f"{API}/objectives", json={"code": "ENGAGE", "title": "Engage"}, headers=comms
        )
    )
    v1 = await make_guideline(
        session, code="conduct", version=1, effective_from=clock.now() - timedelta(days=100)
    )
    as_owner = tokens.headers("staff", sub=owner.subject)
    as_editor = tokens.headers("staff", sub=editor.subject)
    await _ok(await client.post(f"{API}/guidelines/{v1.id}/signoffs", headers=as_owner))
    signoff = await _ok(await client.post(f"{API}/guidelines/{v1.id}/signoffs", headers=as_editor))
    account = await _ok(
        await client.post(
            f"{API}/accounts",
            json={
                "platform": "x", "handle": "nightwatchhid", "display_name": "Night Watch",
                "classification": "official", "is_anonymous": True,
                "owner_id": str(owner.id), "unit_id": unit["id"],
            },
            headers=comms,
        )
    )  # fmt: skip
    account_id = account["id"]
    await _ok(
        await client.post(
            f"{API}/accounts/{account_id}/editors",
            json={"person_id": str(editor.id)},
            headers=comms,
        )
    )
    attestation = await _ok(
        await client.post(
            f"{API}/accounts/{account_id}/attest", json={"still_needed": True}, headers=as_owner
        )
    )
    activity = await _activity(client, tokens, account_id)
    request = await _ok(
        await client.post(
            f"{API}/requests",
            json={
                "kind": "owner_change", "account_id": account_id,
                "reason": "Hand the account to its editor.",
                "details": {"new_owner_id": str(editor.id)},
            },
            headers=as_editor,
        )
    )  # fmt: skip
    hold = await _ok(
        await client.post(
            f"{API}/accounts/{account_id}/holds",
            json={"case_reference": "PSD/2026/17", "reason": "Preserve for a conduct case."},
            headers=tokens.headers("psd"),
        )
    )
    # A new version that needs signing again: the editor has not (a compliance reason).
    await make_guideline(
        session, code="conduct", version=2, requires_resign=True,
        effective_from=clock.now() - timedelta(days=60),
    )  # fmt: skip
    # The owner leaves: the account is orphaned ("The owner, X, has left.").
    await _ok(
        await client.post(
            f"{API}/people/{owner.id}/leave", json={"left_on": str(clock.today())}, headers=comms
        ),
        200,
    )
    assert staffs is not None
    # An audit event of the account that names its editor (the editor's addition).
    events = await _ok(
        await client.get(
            f"{API}/audit",
            params={"entity_type": "account", "entity_id": account_id, "limit": "200"},
            headers=tokens.headers("admin", force=None),
        ),
        200,
    )
    naming = [e for e in events["items"] if str(editor.id) in str(e["changes"])]
    assert naming, "no audit event of the account names its editor"
    # A review campaign over the force's accounts, the anonymous one among them.
    campaign = await _ok(
        await client.post(
            f"{API}/campaigns",
            json={"name": "Annual review", "due_on": str(clock.today() + timedelta(days=30))},
            headers=comms,
        ),
        201,
    )
    return World(
        campaign_id=campaign["id"],
        owner=owner,
        editor=editor,
        account_id=account_id,
        request_id=request["id"],
        hold_id=hold["id"],
        signoff_id=signoff["id"],
        attestation_id=attestation["id"],
        guideline_id=str(v1.id),
        unit_id=unit["id"],
        objective_id=objective["id"],
        activity_id=activity,
        event_id=str(naming[0]["id"]),
        built_at=clock.now(),
    )


async def _activity(client: httpx.AsyncClient, tokens: Any, account_id: str) -> str:
    r = await client.post(
        f"{API}/accounts/{account_id}/activity",
        json={
            "period_start": str(clock.today() - timedelta(days=7)),
            "period_end": str(clock.today()),
            "original_posts": 3,
            "reposts": 0,
            "replies": 1,
            "followers": 10,
        },
        headers=tokens.headers("collector"),
    )
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def _paths(world: World, path: str) -> list[str]:
    """The path with its parameters filled; person routes once per operator."""
    values = {
        "code": "staffs",
        "account_id": world.account_id,
        "request_id": world.request_id,
        "hold_id": world.hold_id,
        "signoff_id": world.signoff_id,
        "attestation_id": world.attestation_id,
        "guideline_id": world.guideline_id,
        "unit_id": world.unit_id,
        "objective_id": world.objective_id,
        "activity_id": world.activity_id,
        "event_id": world.event_id,
        "campaign_id": world.campaign_id,
        "item": "force_admin_access_granted",
        "credential_id": "00000000-0000-4000-8000-000000000000",
    }
    people = [str(world.owner.id), str(world.editor.id)] if "{person_id}" in path else [""]
    return [
        re.sub(r"{(\w+)}", lambda m, p=person_id: values.get(m.group(1), p), path)
        for person_id in people
    ]


def _queries(path: str, world: World) -> list[dict[str, str]]:
    """Each query a GET is asked with: a whole page, plus the instants and look-ups."""
    page = {"limit": "200"}
    if path == f"{V}/lookup":
        return [{"platform": "x", "handle": "nightwatchhid"}]
    if path in (f"{V}/public/verify",):
        return [{"url": "https://x.com/nightwatchhid"}]
    if path.endswith("/custodians") or (
        path.startswith(f"{V}/people/") and path.endswith("/accounts")
    ):
        return [{}, {"at": world.built_at.isoformat()}]
    if path.endswith("/lookalikes") or "/activity/" in path or path.count("/") > 4:
        return [{}]
    if path in (f"{V}/audit/verify", f"{V}/me") or re.search(r"/[0-9a-f-]{36}$", path):
        return [{}]
    return [page]


def _leaks(response: httpx.Response, secrets: list[str]) -> list[str]:
    """The secrets in a body; a refusal may echo the id the caller sent in its path (it
    tells nothing), so those do not count in 4xx answers. An audit event's Merkle leaf
    is read decoded: it holds the event's canonical bytes."""
    asked = str(response.request.url) if response.status_code >= 400 else ""
    text = response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("leaf"), str):
            text += base64.b64decode(body["leaf"]).decode("utf-8", "replace")
    return [s for s in secrets if s in text and s not in asked]


async def _answers(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, world: World
) -> list[tuple[str, httpx.Response]]:
    out = []
    for filled in _paths(world, path):
        for query in _queries(path, world):
            r = await client.get(filled, params=query, headers=headers)
            out.append((f"GET {filled}?{query}", r))
            if path in CSV_ROUTES:
                r = await client.get(
                    filled, params=query, headers={**headers, "Accept": "text/csv"}
                )
                out.append((f"GET {filled}?{query} (CSV)", r))
    return out


@pytest.mark.parametrize("caller", sorted(CALLERS))
async def test_every_route_hides_anonymous_operators_from_callers_who_may_not_see_them(
    client, tokens, session, app, caller
):
    world = await build_world(client, tokens, session)
    headers = _headers(tokens, caller)
    secrets = world.secrets()
    leaks, blind = [], []
    routes = [(m, p) for m, p, _ in api_routes(app)]
    for method, path in routes:
        if method != "GET":
            continue
        must_see = caller in ROUTES[(method, path)]
        for label, r in await _answers(client, headers, path, world):
            assert r.status_code < 500, (label, r.text)
            found = _leaks(r, secrets)
            if caller not in MAY_SEE and found:
                leaks.append(f"{label} -> {r.status_code} shows {found}")
            if must_see and r.status_code == 200 and not found:
                blind.append(f"{label} -> shows no operator")
            if must_see and r.status_code != 200:
                blind.append(f"{label} -> {r.status_code} {r.text[:200]}")
    if caller not in MAY_SEE and caller != "auditor_and_other_comms_admin":
        # Writes answered to those who may not see: refusals and validation errors name
        # no one either. (Mixed tokens' writes are the authorisation matrix's to judge.)
        for method, path in routes:
            if method == "GET":
                continue
            for filled in _paths(world, path):
                r = await client.request(method, filled, json={}, headers=headers)
                assert r.status_code < 500, (method, filled, r.text)
                found = _leaks(r, secrets)
                if found:
                    leaks.append(f"{method} {filled} -> {r.status_code} shows {found}")
    assert not leaks, "\n".join(leaks)
    assert not blind, "\n".join(blind)


@pytest.mark.parametrize("caller", sorted(CALLERS))
async def test_filters_on_an_operator_do_not_find_the_anonymous_account(
    client, tokens, session, caller
):
    world = await build_world(client, tokens, session)
    headers = _headers(tokens, caller)
    probes = [
        (f"{API}/accounts", {"owner_id": str(world.owner.id)}),
        (f"{API}/audit", {"actor": world.editor.subject}),
        (f"{API}/audit", {"entity_id": str(world.owner.id)}),
    ]
    for path, params in probes:
        r = await client.get(path, params=params, headers=headers)
        assert r.status_code < 500
        found = world.account_id in r.text or world.request_id in r.text
        if caller in MAY_SEE and r.status_code == 200:
            assert found or "entity_id" in params, (path, params, r.text)
        if caller not in MAY_SEE:
            assert not found, (path, params, r.text)
            assert r.status_code != 200 or r.json()["items"] == [], (path, params, r.text)


async def test_reasons_and_owner_are_named_for_comms_admin_and_not_for_the_auditor(
    client, tokens, session
):
    world = await build_world(client, tokens, session)
    url = f"{API}/reports/compliance"
    r = await client.get(url, headers=tokens.headers("comms_admin"))
    item = next(i for i in r.json()["items"] if i["id"] == world.account_id)
    assert item["owner"] == {"id": str(world.owner.id), "name": world.owner.name}
    assert item["why"]["orphaned"] == f"The owner, {world.owner.name}, has left."
    assert (
        f"{world.editor.name} (editor) has not signed conduct v2"
        in (item["why"]["guidelines_outstanding"])
    )
    r = await client.get(url, headers=tokens.headers("auditor", force=None))
    item = next(i for i in r.json()["items"] if i["id"] == world.account_id)
    assert item["owner"] is None and item["operators_redacted"] is True
    assert item["why"]["orphaned"] == "The owner has left."
    assert item["why"]["guidelines_outstanding"].startswith("An editor has not signed conduct v2")


async def test_the_owner_id_shown_to_staff_on_an_account_never_resolves_a_hidden_operator(
    client, tokens, session
):
    world = await build_world(client, tokens, session)
    for caller, refused in (("staff", 404), ("auditor", 403)):
        headers = _headers(tokens, caller)
        r = await client.get(f"{API}/accounts/{world.account_id}", headers=headers)
        assert r.status_code == 200
        body = r.json()
        assert (body["owner"], body["editors"], body["operators_redacted"]) == (None, [], True)
        for person in (world.owner, world.editor):
            r = await client.get(f"{API}/people/{person.id}", headers=headers)
            assert r.status_code == refused
            assert not any(s in r.text for s in person.secrets()[1:])


def test_every_route_is_listed_and_every_route_carrying_a_person_expects_one(app):
    served = {(m, p) for m, p, _ in api_routes(app)}
    assert served - set(ROUTES) == set(), "routes missing from ROUTES"
    assert set(ROUTES) - served == set(), "ROUTES lists routes the app does not serve"
    spec = app.openapi()
    schemas = spec["components"]["schemas"]

    def names(node: Any, seen: set[str]) -> set[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    name = value.rsplit("/", 1)[-1]
                    if name not in seen:
                        seen.add(name)
                        names(schemas[name], seen)
                else:
                    names(value, seen)
        elif isinstance(node, list):
            for value in node:
                names(value, seen)
        return seen

    for (method, path), must_see in ROUTES.items():
        if method != "GET" or path not in spec["paths"]:
            continue  # (the public's HTML pages are not in the document; they name no one)
        op = spec["paths"][path]["get"]
        answered = names({k: v for k, v in op["responses"].items() if k.startswith("2")}, set())
        if answered & PERSON_SCHEMAS:
            assert must_see, f"GET {path} answers a person: say who must see it"


@pytest.mark.parametrize(
    ("roles", "force", "anonymous", "operates", "shown"),
    [
        ({"admin"}, None, True, False, True),
        ({"comms_admin"}, "own", True, False, True),
        ({"psd"}, "own", True, False, True),
        ({"comms_admin"}, "other", True, False, False),
        ({"comms_admin"}, "other", False, False, False),
        ({"auditor"}, None, False, False, False),
        ({"staff"}, "own", False, False, True),
        ({"staff"}, "own", True, False, False),
        ({"staff"}, "own", True, True, True),
        ({"staff"}, "other", False, False, False),
        ({"collector"}, "own", True, False, False),
        ({"collector"}, "own", False, False, True),
    ],
)
def test_who_sees_the_operators_of_an_account(roles, force, anonymous, operates, shown):
    own, other = uuid.uuid4(), uuid.uuid4()
    caller_force = {None: None, "own": own, "other": other}[force]
    principal = Principal("x", None, frozenset(roles), "f" if caller_force else None, caller_force)
    assert redaction.sees_operators(principal, own, anonymous, operates) is shown


async def test_the_sql_and_python_forms_of_the_rule_agree(session):
    from app.accounts import repository
    from tests.factories import make_account, make_person

    staffs = await make_force(session, "staffs")
    wmids = await make_force(session, "wmids")
    runner = await make_person(session, staffs, subject="sub-runner")
    accounts = [
        await make_account(session, force, is_anonymous=anonymous, owner=owner)
        for force in (staffs, wmids)
        for anonymous in (False, True)
        for owner in ((runner,) if force is staffs else ()) + (None,)
    ]
    callers = [
        Principal(sub, None, frozenset(roles), code, force_id)
        for roles in (
            {"admin"}, {"auditor"}, {"comms_admin"}, {"psd"}, {"staff"}, {"collector"},
            {"admin", "comms_admin"}, {"comms_admin", "psd"},
        )
        for sub, code, force_id in (("sub-runner", "staffs", staffs.id), ("x", "wmids", wmids.id))
    ]  # fmt: skip
    for principal in callers:
        shown = await repository.operators_shown(session, principal, {a.id for a in accounts})
        for account in accounts:
            operates = account.owner_id == runner.id and principal.sub == "sub-runner"
            expected = redaction.sees_operators(
                principal, account.force_id, account.is_anonymous, operates
            )
            assert (account.id in shown) is expected, (principal.roles, principal.force, account)


@pytest.mark.parametrize("caller", ["auditor_and_other_comms_admin", "comms_admin", "admin"])
async def test_import_errors_tell_of_a_person_only_to_who_reads_their_record(
    client, tokens, session, caller
):
    world = await build_world(client, tokens, session)
    body = (
        "platform,handle,display_name,classification,status,owner_staff_id\r\n"
        f"x,importone,One,official,active,{world.owner.staff_id}\r\n"
        "x,importtwo,Two,official,active,NOBODY-0\r\n"
    )
    r = await client.post(
        f"{API}/imports/accounts",
        params={"dry_run": "true", "force": "staffs"},
        content=body,
        headers={**_headers(tokens, caller), "Content-Type": "text/csv"},
    )
    assert r.status_code in ((422,) if caller in MAY_SEE else (403, 404, 422)), r.text
    if r.status_code != 422:
        return  # a mixed token refused outright: nothing said about anyone
    msgs = {e["line"]: e["msg"] for e in r.json()["errors"] if e["field"] == "owner_staff_id"}
    if caller in MAY_SEE:
        assert msgs[2] == f"{world.owner.staff_id!r} has left the force."
    else:
        # The hidden owner's staff id reads exactly like one that does not exist.
        assert msgs[2].replace(world.owner.staff_id, "X") == msgs[3].replace("NOBODY-0", "X")
