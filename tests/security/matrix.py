"""The authorization matrix: every route of the API x every role → what the caller gets.

Derived from SPEC §3 ("who may do what"); where SPEC is silent, from the route's own
documented rule (its docstring / OpenAPI description). `test_matrix.py` walks every
route of the app against this table, so a new route without a row fails the suite.

Codes, one per role in `ROLES` order:

- `A` allowed: neither 401 nor 403 (the answer may be 404/409/422 for the data sent).
- `D` denied: 403, whatever the object.
- `O` own only: allowed on the caller's own object; 403 on someone else's in the force.
- `H` own only, others hidden: allowed on the caller's own; someone else's is a 404.
- `N` not their own (four eyes): allowed on someone else's; 403 on the caller's own.

`PUBLIC` routes need no token at all.

"Own" means, in the data set the test seeds: the account the caller owns, the person
record linked to the caller (`people.subject == sub`), the sign-off and attestation that
person made, the request the caller submitted. National callers (auditor, admin) have no
person record, so self-service answers them 409 `no-person-record` (allowed, not 403).

Other-force callers: every route with an object in its path answers a force-scoped
caller of another force 404 (never 403) when the role is allowed, 403 when it is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

ROLES = ("staff", "comms_admin", "psd", "collector", "auditor", "admin")
NATIONAL = ("auditor", "admin")

# Tokens holding several roles. A national role beside a force-scoped one is refused
# (403 `mixed-roles`) on every route; admin grants everything already, so admin with a
# force role gets the admin column. Force roles together (comms_admin + psd) are ordinary.
MIXED_REFUSED = (
    ("auditor", "comms_admin"), ("auditor", "psd"), ("auditor", "staff"), ("auditor", "collector"),
)  # fmt: skip
ADMIN_MIXES = {("admin", "comms_admin"): "admin"}

ALLOW, DENY, OWN, OWN_VISIBLE, NOT_OWN = "A", "D", "O", "H", "N"
PUBLIC = "public"

# Served outside the API contract (ops, docs, schema, static assets). /scim/v2 is a
# mounted application of its own (SCIM credentials, not tokens; tests/scim).
NOT_IN_MATRIX = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"})

V = "/api/v1"

# fmt: off
MATRIX: dict[tuple[str, str], str] = {
    #                                                        staff comms psd coll aud admin
    ("GET",    f"{V}/me"):                                      "A  A  A  A  A  A",
    ("GET",    f"{V}/forces"):                                  "A  A  A  A  A  A",
    ("POST",   f"{V}/forces"):                                  "D  D  D  D  D  A",
    ("GET",    f"{V}/forces/{{code}}"):                         "A  A  A  A  A  A",
    ("PATCH",  f"{V}/forces/{{code}}"):                         "D  A  D  D  D  A",
    # SCIM credentials of a force: national admin only.
    ("POST",   f"{V}/forces/{{code}}/scim-credentials"):        "D  D  D  D  D  A",
    ("GET",    f"{V}/forces/{{code}}/scim-credentials"):        "D  D  D  D  D  A",
    ("POST",   f"{V}/forces/{{code}}/scim-credentials/{{credential_id}}/rotate"): "D D D D D A",
    ("DELETE", f"{V}/forces/{{code}}/scim-credentials/{{credential_id}}"): "D  D  D  D  D  A",
    ("GET",    f"{V}/units"):                                   "A  A  A  A  A  A",
    ("POST",   f"{V}/units"):                                   "D  A  D  D  D  A",
    ("GET",    f"{V}/units/{{unit_id}}"):                       "A  A  A  A  A  A",
    ("PATCH",  f"{V}/units/{{unit_id}}"):                       "D  A  D  D  D  A",
    ("DELETE", f"{V}/units/{{unit_id}}"):                       "D  A  D  D  D  A",
    # People records (app.auth.redaction): staff and collectors their own only.
    ("GET",    f"{V}/people"):                                  "A  A  A  A  D  A",
    ("POST",   f"{V}/people"):                                  "D  A  D  D  D  A",
    ("GET",    f"{V}/people/{{person_id}}"):                    "H  A  A  H  D  A",
    ("PATCH",  f"{V}/people/{{person_id}}"):                    "D  A  D  D  D  A",
    ("POST",   f"{V}/people/{{person_id}}/leave"):              "D  A  D  D  D  A",
    # Subject access export: psd of the person's force, admin.
    ("GET",    f"{V}/people/{{person_id}}/export"):             "D  D  A  D  D  A",
    ("GET",    f"{V}/objectives"):                              "A  A  A  A  A  A",
    ("POST",   f"{V}/objectives"):                              "D  A  D  D  D  A",
    ("GET",    f"{V}/objectives/{{objective_id}}"):             "A  A  A  A  A  A",
    ("PATCH",  f"{V}/objectives/{{objective_id}}"):             "D  A  D  D  D  A",
    # Accounts: staff declare only accounts they run (owner_id must be them).
    ("GET",    f"{V}/accounts"):                                "A  A  A  A  A  A",
    ("POST",   f"{V}/accounts"):                                "O  A  D  D  D  A",
    ("GET",    f"{V}/accounts/{{account_id}}"):                 "A  A  A  A  A  A",
    ("PATCH",  f"{V}/accounts/{{account_id}}"):                 "D  A  D  D  D  A",
    ("POST",   f"{V}/accounts/{{account_id}}/editors"):         "D  A  D  D  D  A",
    ("DELETE", f"{V}/accounts/{{account_id}}/editors/{{person_id}}"): "D  A  D  D  D  A",
    # Custodians at an instant, history: comms_admin, psd, admin.
    ("GET",    f"{V}/accounts/{{account_id}}/custodians"):      "D  A  A  D  D  A",
    ("GET",    f"{V}/accounts/{{account_id}}/history"):         "D  A  A  D  D  A",
    ("GET",    f"{V}/people/{{person_id}}/accounts"):           "D  A  A  D  D  A",
    ("GET",    f"{V}/lookup"):                                  "D  A  A  D  D  A",
    # Legal holds: psd place/release, admin; comms_admin sees the flag only.
    ("GET",    f"{V}/accounts/{{account_id}}/holds"):           "D  D  A  D  D  A",
    ("POST",   f"{V}/accounts/{{account_id}}/holds"):           "D  D  A  D  D  A",
    ("DELETE", f"{V}/accounts/{{account_id}}/holds/{{hold_id}}"): "D  D  A  D  D  A",
    # Guidelines: published by comms_admin/admin, signed by people for themselves.
    ("POST",   f"{V}/guidelines"):                              "D  A  D  D  D  A",
    ("GET",    f"{V}/guidelines"):                              "A  A  A  A  A  A",
    ("GET",    f"{V}/guidelines/{{guideline_id}}"):             "A  A  A  A  A  A",
    ("POST",   f"{V}/guidelines/{{guideline_id}}/signoffs"):    "A  A  A  D  D  A",
    ("GET",    f"{V}/signoffs"):                                "D  A  A  D  D  A",
    ("GET",    f"{V}/signoffs/{{signoff_id}}"):                 "O  A  A  O  D  A",
    ("GET",    f"{V}/people/{{person_id}}/signoffs"):           "O  A  A  O  D  A",
    # Activity: posted by collectors and comms_admin; read by oversight and auditors.
    ("POST",   f"{V}/accounts/{{account_id}}/activity"):        "D  A  D  A  D  A",
    ("GET",    f"{V}/accounts/{{account_id}}/activity"):        "D  A  A  A  A  A",
    ("GET",    f"{V}/accounts/{{account_id}}/activity/{{activity_id}}"): "D  A  A  A  A  A",
    ("POST",   f"{V}/imports/activity"):                        "D  A  D  A  D  A",
    # Attestation: the account's owner.
    ("POST",   f"{V}/accounts/{{account_id}}/attest"):          "O  O  O  D  D  A",
    ("GET",    f"{V}/accounts/{{account_id}}/attestations"):    "D  A  A  D  D  A",
    ("GET",    f"{V}/accounts/{{account_id}}/attestations/{{attestation_id}}"): "O  A  A  D  D  A",
    # Requests: staff for accounts they operate; decisions by comms_admin/admin, never
    # their own (four eyes); withdraw by the requester only.
    ("POST",   f"{V}/requests"):                                "O  A  D  D  D  A",
    ("GET",    f"{V}/requests"):                                "A  A  A  D  D  A",
    ("GET",    f"{V}/requests/{{request_id}}"):                 "H  A  A  D  D  A",
    ("POST",   f"{V}/requests/bulk"):                           "D  A  D  D  D  A",
    # Review campaigns: comms_admin (own force) and admin.
    ("POST",   f"{V}/campaigns"):                               "D  A  D  D  D  A",
    ("GET",    f"{V}/campaigns"):                               "D  A  D  D  D  A",
    ("GET",    f"{V}/campaigns/{{campaign_id}}"):               "D  A  D  D  D  A",
    ("POST",   f"{V}/campaigns/{{campaign_id}}/close"):         "D  A  D  D  D  A",
    ("POST",   f"{V}/requests/{{request_id}}/approve"):         "D  N  D  D  D  N",
    ("POST",   f"{V}/requests/{{request_id}}/reject"):          "D  N  D  D  D  N",
    ("POST",   f"{V}/requests/{{request_id}}/withdraw"):        "H  O  D  D  D  O",
    ("POST",   f"{V}/requests/{{request_id}}/cancel"):          "D  A  D  D  D  A",
    ("POST",   f"{V}/requests/{{request_id}}/complete"):        "D  N  D  D  D  N",
    ("POST",   f"{V}/requests/{{request_id}}/checklist/{{item}}"): "D  A  D  D  D  A",
    # Audit log: comms_admin, psd, admin.
    ("GET",    f"{V}/audit"):                                   "D  A  A  D  D  A",
    ("GET",    f"{V}/audit/verify"):                            "D  A  A  D  D  A",
    # Its checkpoints and proofs (hashes only); events of the caller's force; signing: admin.
    ("GET",    f"{V}/audit/checkpoint"):                        "D  A  A  D  D  A",
    ("GET",    f"{V}/audit/checkpoints"):                       "D  A  A  D  D  A",
    ("POST",   f"{V}/audit/checkpoints"):                       "D  D  D  D  D  A",
    ("GET",    f"{V}/audit/events/{{event_id}}"):               "D  A  A  D  D  A",
    ("GET",    f"{V}/audit/proof/inclusion"):                   "D  A  A  D  D  A",
    ("GET",    f"{V}/audit/proof/consistency"):                 "D  A  A  D  D  A",
    # Reports: comms_admin and psd (own force), auditor and admin (all forces).
    ("GET",    f"{V}/reports/summary"):                         "D  A  A  D  A  A",
    ("GET",    f"{V}/reports/summary.csv"):                     "D  A  A  D  A  A",
    ("GET",    f"{V}/reports/compliance"):                      "D  A  A  D  A  A",
    ("POST",   f"{V}/imports/accounts"):                        "D  A  D  D  D  A",
    # Look-alikes: any reader for an account in scope; reported links: oversight.
    ("GET",    f"{V}/accounts/{{account_id}}/lookalikes"):      "A  A  A  A  A  A",
    ("POST",   f"{V}/lookalikes/check"):                        "D  A  A  D  A  A",
    # Webhooks: comms_admin for its force, admin for any (or every) force.
    ("POST",   f"{V}/webhooks"):                                "D  A  D  D  D  A",
    ("GET",    f"{V}/webhooks"):                                "D  A  D  D  D  A",
    ("GET",    f"{V}/webhooks/{{webhook_id}}"):                 "D  A  D  D  D  A",
    ("PATCH",  f"{V}/webhooks/{{webhook_id}}"):                 "D  A  D  D  D  A",
    ("DELETE", f"{V}/webhooks/{{webhook_id}}"):                 "D  A  D  D  D  A",
    ("POST",   f"{V}/webhooks/{{webhook_id}}/ping"):            "D  A  D  D  D  A",
    ("POST",   f"{V}/webhooks/{{webhook_id}}/rotate-secret"):   "D  A  D  D  D  A",
    ("GET",    f"{V}/webhooks/{{webhook_id}}/deliveries"):      "D  A  D  D  D  A",
    ("POST",   f"{V}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/redeliver"):
                                                                "D  A  D  D  D  A",
    ("GET",    f"{V}/public/verify"):                           PUBLIC,
    ("GET",    f"{V}/public/accounts"):                         PUBLIC,
    ("GET",    f"{V}/public/audit-key"):                        PUBLIC,
    ("GET",    f"{V}/public/feed.atom"):                        PUBLIC,
    ("GET",    "/verify"):                                      PUBLIC,
    ("GET",    "/directory/{force}"):                           PUBLIC,
}
# fmt: on


def outcomes(route: tuple[str, str]) -> dict[str, str]:
    """The row of `route` as {role: code}; every role ALLOW for public routes."""
    row = MATRIX[route]
    if row == PUBLIC:
        return dict.fromkeys(ROLES, ALLOW)
    codes = row.split()
    assert len(codes) == len(ROLES) and set(codes) <= {ALLOW, DENY, OWN, OWN_VISIBLE, NOT_OWN}, (
        f"bad matrix row for {route}: {row!r}"
    )
    return dict(zip(ROLES, codes, strict=True))


def is_public(route: tuple[str, str]) -> bool:
    return MATRIX[route] == PUBLIC


@dataclass(frozen=True)
class Call:
    """How the walk calls a route: a body (JSON, or CSV text), query, headers and which
    seeded object fills each path parameter where the parameter's name alone is not enough.

    `{name}` placeholders in strings are filled from the seeded data set; `{n}` is a number
    unique to the call (for codes and handles that must not collide).
    """

    json: Any = None
    csv: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


ANY_VERSION = {"If-Match": "*"}
_ACTIVITY_CSV = (
    "platform,handle,period_start,period_end,original_posts,reposts,replies,followers,"
    "last_post_at\nx,{other_handle},2026-01-01,2026-01-31,10,2,3,100,\n"
)
_ACCOUNTS_CSV = "platform,handle,display_name,classification\nx,imported{n},Imported,official\n"

# Routes not listed are called without a body, query or extra headers.
CALLS: dict[tuple[str, str], Call] = {
    ("POST", f"{V}/forces"): Call(json={"code": "matrix{n}", "name": "Matrix {n}"}),
    ("PATCH", f"{V}/forces/{{code}}"): Call(json={"dormancy_days": 91}, headers=ANY_VERSION),
    ("POST", f"{V}/forces/{{code}}/scim-credentials"): Call(json={"name": "matrix{n}"}),
    ("POST", f"{V}/units"): Call(json={"name": "Unit {n}", "kind": "other", "force": "{force}"}),
    ("PATCH", f"{V}/units/{{unit_id}}"): Call(json={"name": "Renamed {n}"}, headers=ANY_VERSION),
    ("DELETE", f"{V}/units/{{unit_id}}"): Call(headers=ANY_VERSION),
    ("POST", f"{V}/people"): Call(
        json={"staff_id": "M{n}", "name": "Person {n}", "force": "{force}"}
    ),
    ("PATCH", f"{V}/people/{{person_id}}"): Call(
        json={"job_title": "Constable"}, headers=ANY_VERSION
    ),
    ("POST", f"{V}/people/{{person_id}}/leave"): Call(
        json={"left_on": "{today}"}, params={"person_id": "spare_id"}
    ),
    ("POST", f"{V}/objectives"): Call(
        json={"code": "OBJ{n}", "title": "Objective {n}", "force": "{force}"}
    ),
    ("PATCH", f"{V}/objectives/{{objective_id}}"): Call(
        json={"title": "Retitled {n}"}, headers=ANY_VERSION
    ),
    ("POST", f"{V}/accounts"): Call(
        json={
            "force": "{force}",
            "platform": "x",
            "handle": "matrix{n}",
            "display_name": "Declared {n}",
            "classification": "unofficial",
            "owner_id": "{person_id}",
        }
    ),
    ("POST", f"{V}/lookalikes/check"): Call(json={"urls": ["https://x.com/matrix{n}"]}),
    ("PATCH", f"{V}/accounts/{{account_id}}"): Call(
        json={"display_name": "Edited {n}"}, headers=ANY_VERSION
    ),
    ("POST", f"{V}/accounts/{{account_id}}/editors"): Call(json={"person_id": "{editor_id}"}),
    ("DELETE", f"{V}/accounts/{{account_id}}/editors/{{person_id}}"): Call(
        params={"person_id": "editor_id"}
    ),
    ("GET", f"{V}/lookup"): Call(query={"url": "https://x.com/{other_handle}"}),
    ("POST", f"{V}/accounts/{{account_id}}/holds"): Call(
        json={"case_reference": "PSD/{n}", "reason": "Investigation."}
    ),
    ("POST", f"{V}/guidelines"): Call(
        json={
            "force": "{force}",
            "code": "matrix-{n}",
            "title": "Guideline {n}",
            "document_url": "https://intranet.example/g{n}.pdf",
            "sha256": "a" * 64,
            "effective_from": "2030-01-01T00:00:00Z",
        }
    ),
    ("POST", f"{V}/accounts/{{account_id}}/activity"): Call(
        json={
            "period_start": "2026-02-01",
            "period_end": "2026-02-28",
            "original_posts": 5,
            "reposts": 1,
            "replies": 2,
            "followers": 50,
        }
    ),
    ("POST", f"{V}/imports/activity"): Call(csv=_ACTIVITY_CSV, query={"force": "{force}"}),
    ("POST", f"{V}/accounts/{{account_id}}/attest"): Call(
        json={"still_needed": True, "note": "Still in use."}
    ),
    ("POST", f"{V}/requests"): Call(
        json={
            "kind": "decommission",
            "account_id": "{account_id}",
            "reason": "No longer needed.",
            "details": {"reason_code": "other"},
        }
    ),
    ("POST", f"{V}/requests/bulk"): Call(
        json={
            "kind": "decommission",
            "filter": {"force": "{force}", "flag": "dormant"},
            "reason": "Dormant.",
            "details": {"reason_code": "dormant"},
            "dry_run": True,
        }
    ),
    ("POST", f"{V}/campaigns"): Call(
        json={"name": "Matrix {n}", "filter": {"force": "{force}"}, "due_on": "2099-01-01"}
    ),
    ("POST", f"{V}/requests/{{request_id}}/approve"): Call(json={"comment": "ok"}),
    ("POST", f"{V}/requests/{{request_id}}/reject"): Call(json={"comment": "no"}),
    ("POST", f"{V}/requests/{{request_id}}/withdraw"): Call(json={"comment": "never mind"}),
    ("POST", f"{V}/requests/{{request_id}}/cancel"): Call(json={"comment": "stop"}),
    ("POST", f"{V}/requests/{{request_id}}/complete"): Call(json={"comment": "done"}),
    ("POST", f"{V}/requests/{{request_id}}/checklist/{{item}}"): Call(json={"done": True}),
    ("POST", f"{V}/imports/accounts"): Call(csv=_ACCOUNTS_CSV, query={"force": "{force}"}),
    ("GET", f"{V}/public/verify"): Call(query={"url": "https://x.com/{other_handle}"}),
    ("POST", f"{V}/webhooks"): Call(
        json={"url": "https://hooks.example.org/matrix{n}", "event_types": ["*"]}
    ),
    ("PATCH", f"{V}/webhooks/{{webhook_id}}"): Call(json={"active": False}, headers=ANY_VERSION),
    ("GET", "/verify"): Call(query={"url": "https://x.com/{other_handle}"}),
    ("GET", f"{V}/audit/proof/inclusion"): Call(query={"event_id": "{event_id}"}),
    ("GET", f"{V}/audit/proof/consistency"): Call(query={"first": "0"}),
}


def api_routes(app: Any) -> Iterator[tuple[str, str, APIRoute]]:
    """(method, full path template, route) for every API route the app serves."""
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute):
            continue
        path = ctx.path_format
        if path in NOT_IN_MATRIX:
            continue
        for method in sorted(ctx.methods or ()):
            if method != "HEAD":
                yield method, path, route
