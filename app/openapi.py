"""The OpenAPI document, made to tell the whole truth.

FastAPI derives most of it from the routes; this adds what routes cannot say one by one:
the bearer scheme (every route but /public), the problems every route can answer (a
malformed or oversized body, a busy database), the headers that always come back
(Location, ETag, WWW-Authenticate, Retry-After), If-Match as required where a PATCH
answers 428 without it, and the links between operations (create → read/edit/move), which
clients and stateful test tools follow.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.errors import PROBLEM_CONTENT_TYPE
from app.models import enums
from app.schemas import Problem, errors
from app.workflows import states
from app.workflows.checklists import CHECKLISTS

API = "/api/v1"
PUBLIC_PREFIX = f"{API}/public/"
BEARER = "bearerAuth"
REF = "#/components/schemas/"
METHODS = ("get", "post", "patch", "put", "delete")

# "v{version}" quoted: the ETag of the version an answer carries (see app.concurrency).
ETAG_FROM_BODY = '"v{$response.body#/version}"'

_HEADER = {"schema": {"type": "string"}}
_HEADERS: dict[str, dict[str, Any]] = {
    "Location": {"description": "Where the created object lives.", **_HEADER},
    "ETag": {"description": "The object's version, for If-Match.", **_HEADER},
    "WWW-Authenticate": {"description": "Always `Bearer ...`.", **_HEADER},
    "Retry-After": {"description": "Seconds to wait before retrying.", **_HEADER},
}


def operation_id(route: APIRoute) -> str:
    """A route's operationId, and so the name of its function in generated clients: the
    name of the route's function (`submit_request`, `list_accounts`), never FastAPI's
    default that appends the path and method (`submit_request_api_v1_requests_post`)."""
    return route.name


def _op(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = schema["paths"][API + path][method]
    return operation


# (method, path, status) of a source → links to targets: (method, path, parameters, body).
Link = tuple[str, str, dict[str, str], Any]
_ID = "$response.body#/id"
_SAME_ACCOUNT = {"account_id": "$request.path.account_id"}
_CURSOR = {"cursor": "$response.body#/next_cursor"}


def _account_links() -> list[Link]:
    acc = {"account_id": _ID}
    return [
        ("get", "/accounts/{account_id}", acc, None),
        ("patch", "/accounts/{account_id}", {**acc, "header.If-Match": ETAG_FROM_BODY}, None),
        ("post", "/accounts/{account_id}/editors", acc, None),
        ("get", "/accounts/{account_id}/custodians", acc, None),
        ("get", "/accounts/{account_id}/history", acc, None),
        ("get", "/accounts/{account_id}/holds", acc, None),
        ("post", "/accounts/{account_id}/holds", acc, None),
        ("post", "/accounts/{account_id}/activity", acc, None),
        ("get", "/accounts/{account_id}/activity", acc, None),
        ("post", "/accounts/{account_id}/attest", acc, None),
        ("get", "/accounts/{account_id}/attestations", acc, None),
    ]


# The longest checklist of any kind (SPEC §6): a request's answer lists its kind's items in
# order, and a link per position ticks each (past the end of a shorter list a position
# names nothing, and a follower picks an item of its own: a 404 for the kind).
CHECKLIST_LENGTH = max(len(items) for items in CHECKLISTS.values())


def _request_links(state: str, ticks: bool = True) -> list[Link]:
    """From an answer that leaves a request in `state`: the request, and the moves (one table,
    app.workflows.states) and checklist ticks that can follow from that state."""
    req = {"request_id": _ID}
    each_item = [
        ("post", "/requests/{request_id}/checklist/{item}",
         {**req, "item": f"$response.body#/checklist/{n}/item"}, {"done": True})
        for n in range(CHECKLIST_LENGTH)
    ] if ticks and state == states.APPROVED else []  # fmt: skip
    return [
        ("get", "/requests/{request_id}", req, None),
        *[
            ("post", f"/requests/{{request_id}}/{m.action}", req, None)
            for m in states.MOVES.values()
            if m.source == state
        ],
        *each_item,
    ]


LINKS: dict[tuple[str, str, str], list[Link]] = {
    ("post", "/forces", "201"): [
        ("get", "/forces/{code}", {"code": "$response.body#/code"}, None),
        ("patch", "/forces/{code}",
         {"code": "$response.body#/code", "header.If-Match": ETAG_FROM_BODY}, None),
    ],
    ("get", "/forces/{code}", "200"): [
        ("patch", "/forces/{code}",
         {"code": "$request.path.code", "header.If-Match": "$response.header.ETag"}, None),
    ],
    ("post", "/units", "201"): [
        ("get", "/units/{unit_id}", {"unit_id": _ID}, None),
        ("patch", "/units/{unit_id}", {"unit_id": _ID, "header.If-Match": ETAG_FROM_BODY}, None),
        ("delete", "/units/{unit_id}", {"unit_id": _ID, "header.If-Match": ETAG_FROM_BODY}, None),
    ],
    ("get", "/units/{unit_id}", "200"): [
        ("patch", "/units/{unit_id}",
         {"unit_id": "$request.path.unit_id", "header.If-Match": "$response.header.ETag"}, None),
    ],
    ("post", "/people", "201"): [
        ("get", "/people/{person_id}", {"person_id": _ID}, None),
        ("patch", "/people/{person_id}",
         {"person_id": _ID, "header.If-Match": ETAG_FROM_BODY}, None),
        ("post", "/people/{person_id}/leave", {"person_id": _ID}, None),
        ("get", "/people/{person_id}/accounts", {"person_id": _ID}, None),
        ("get", "/people/{person_id}/signoffs", {"person_id": _ID}, None),
    ],
    ("get", "/people/{person_id}", "200"): [
        ("patch", "/people/{person_id}",
         {"person_id": "$request.path.person_id", "header.If-Match": "$response.header.ETag"},
         None),
    ],
    ("post", "/objectives", "201"): [
        ("get", "/objectives/{objective_id}", {"objective_id": _ID}, None),
        ("patch", "/objectives/{objective_id}",
         {"objective_id": _ID, "header.If-Match": ETAG_FROM_BODY}, None),
    ],
    ("get", "/objectives/{objective_id}", "200"): [
        ("patch", "/objectives/{objective_id}",
         {"objective_id": "$request.path.objective_id",
          "header.If-Match": "$response.header.ETag"}, None),
    ],
    # A new account: the request that brings it into oversight (or closes it), and on to
    # each move of that request.
    ("post", "/accounts", "201"): [
        *_account_links(), ("post", "/requests", {}, {"account_id": _ID}),
    ],
    ("get", "/accounts/{account_id}", "200"): [
        ("patch", "/accounts/{account_id}",
         {**_SAME_ACCOUNT, "header.If-Match": "$response.header.ETag"}, None),
    ],
    ("post", "/accounts/{account_id}/editors", "201"): [
        ("delete", "/accounts/{account_id}/editors/{person_id}",
         {**_SAME_ACCOUNT, "person_id": "$request.body#/person_id"}, None),
    ],
    ("post", "/accounts/{account_id}/holds", "201"): [
        ("delete", "/accounts/{account_id}/holds/{hold_id}",
         {**_SAME_ACCOUNT, "hold_id": _ID}, None),
    ],
    ("post", "/accounts/{account_id}/activity", "201"): [
        ("get", "/accounts/{account_id}/activity/{activity_id}",
         {**_SAME_ACCOUNT, "activity_id": _ID}, None),
    ],
    ("post", "/accounts/{account_id}/attest", "201"): [
        ("get", "/accounts/{account_id}/attestations/{attestation_id}",
         {**_SAME_ACCOUNT, "attestation_id": _ID}, None),
    ],
    ("post", "/guidelines", "201"): [
        ("get", "/guidelines/{guideline_id}", {"guideline_id": _ID}, None),
        ("post", "/guidelines/{guideline_id}/signoffs", {"guideline_id": _ID}, None),
    ],
    ("post", "/guidelines/{guideline_id}/signoffs", "201"): [
        ("get", "/signoffs/{signoff_id}", {"signoff_id": _ID}, None),
    ],
    # Approval completes a kind with no checklist; the links are for those it leaves approved.
    ("post", "/requests", "201"): _request_links(states.SUBMITTED),
    ("post", "/requests/{request_id}/approve", "200"): _request_links(states.APPROVED),
    # After a tick, on to completion; while items are left, its refusal names them (below).
    ("post", "/requests/{request_id}/checklist/{item}", "200"): _request_links(
        states.APPROVED, ticks=False
    ),
    # A completion refused for want of ticks names them (`missing`): on to each.
    ("post", "/requests/{request_id}/complete", "409"): [
        ("post", "/requests/{request_id}/checklist/{item}",
         {"request_id": "$request.path.request_id", "item": f"$response.body#/missing/{n}"},
         {"done": True})
        for n in range(CHECKLIST_LENGTH)
    ],
    ("get", "/requests/{request_id}", "200"): [
        ("post", f"/requests/{{request_id}}/{move}",
         {"request_id": "$request.path.request_id", "header.If-Match": "$response.header.ETag"},
         None)
        for move in ("approve", "reject")
    ],
    # Pages: the next page of the same list.
    **{
        ("get", path, "200"): [("get", path, {**params, **_CURSOR}, None)]
        for path, params in (
            ("/forces", {}), ("/units", {}), ("/people", {}), ("/objectives", {}),
            ("/accounts", {}), ("/guidelines", {}), ("/requests", {}), ("/audit", {}),
            ("/accounts/{account_id}/holds", _SAME_ACCOUNT),
            ("/accounts/{account_id}/activity", _SAME_ACCOUNT),
            ("/accounts/{account_id}/attestations", _SAME_ACCOUNT),
            ("/people/{person_id}/signoffs", {"person_id": "$request.path.person_id"}),
        )
    },
}  # fmt: skip


# Operations whose 200 answer carries the object's ETag.
ETAGGED = {
    *[(m, p) for m in ("get", "patch") for p in (
        "/forces/{code}", "/units/{unit_id}", "/people/{person_id}",
        "/objectives/{objective_id}", "/accounts/{account_id}",
    )],
    ("post", "/people/{person_id}/leave"),
    ("get", "/requests/{request_id}"),
    *[("post", f"/requests/{{request_id}}/{move}")
      for move in ("approve", "reject", "withdraw", "cancel", "complete")],
    ("post", "/requests/{request_id}/checklist/{item}"),
}  # fmt: skip


# Creates of many rows at once, with no one place to point to.
NO_LOCATION = {("post", "/imports/activity")}


def _vocabulary_name(constant: str) -> str:
    """PLATFORMS → Platform, ACCOUNT_STATUSES → AccountStatus."""
    singular = constant[:-2] if constant.endswith("USES") else constant.removesuffix("S")
    return "".join(word.capitalize() for word in singular.split("_"))


def vocabularies() -> dict[str, tuple[str, ...]]:
    """Every closed vocabulary of app.models.enums by its component name; a subset of
    another (OPEN_REQUEST_STATUSES) is a rule over that vocabulary, not one of its own."""
    found = {
        name: values
        for name, values in vars(enums).items()
        if name.isupper() and isinstance(values, tuple) and all(isinstance(v, str) for v in values)
    }
    return {
        _vocabulary_name(name): values
        for name, values in found.items()
        if not any(set(values) < set(other) for other in found.values())
    }


_ENUM_KEYS = {"enum", "type", "title"}


def _name_enums(schema: dict[str, Any]) -> None:
    """One component per vocabulary, referred to wherever a schema lists its values (inputs
    and outputs alike), so that generated clients have one type for each, not a copy per
    operation."""
    named = vocabularies()
    by_values = {frozenset(values): name for name, values in named.items()}

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        values = node.get("enum")
        if node.get("type", "string") == "string" and isinstance(values, list):
            name = by_values.get(frozenset(values))
            if name is not None and len(values) == len(named[name]):
                rest = {k: v for k, v in node.items() if k not in _ENUM_KEYS}
                return {"$ref": REF + name, **rest}
        return {key: visit(value) for key, value in node.items()}

    schema["paths"] = visit(schema["paths"])
    components = schema["components"]["schemas"]
    for key, value in list(components.items()):
        components[key] = visit(value)
    used = json.dumps(schema)
    for name, values in named.items():
        if f'"{REF}{name}"' in used:
            components[name] = {"title": name, "type": "string", "enum": list(values)}


# AccountCreate's rule (named by its link, or by platform and handle, or both agreeing) as
# two named forms: generators keep named alternatives, but drop an object whose `anyOf`
# only lists required fields. The service still reads one AccountCreate.
ACCOUNT_CREATE_FORMS = {
    "AccountCreateByUrl": (("url",), "An account named by its link (platform and handle "
                                     "are read from it; if given too, they must agree)."),
    "AccountCreateByHandle": (("platform", "handle"), "An account named by its platform "
                                                      "and handle (a link may be given too)."),
}  # fmt: skip


def _account_create_forms(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    base = components.pop("AccountCreate")
    base.pop("anyOf", None)
    for name, (required, description) in ACCOUNT_CREATE_FORMS.items():
        form = copy.deepcopy(base)
        form.update(title=name, description=description)
        form["required"] = sorted({*form.get("required", []), *required})
        for field in required:
            prop = form["properties"][field]
            options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
            if options:
                prop.update(options[0])
            prop.pop("default", None)
        components[name] = form
    body = _op(schema, "post", "/accounts")["requestBody"]["content"]["application/json"]
    body["schema"] = {"anyOf": [{"$ref": REF + name} for name in ACCOUNT_CREATE_FORMS]}


def _link_name(method: str, path: str) -> str:
    words = [w for w in path.replace("{", "").replace("}", "").split("/") if w]
    return method.capitalize() + "".join(w.title().replace("_", "") for w in words)


def _add_links(schema: dict[str, Any]) -> None:
    for (method, path, status), targets in LINKS.items():
        source = _op(schema, method, path)
        response = source["responses"].setdefault(status, {"description": "Success."})
        links = response.setdefault("links", {})
        names = [_link_name(t_method, t_path) for t_method, t_path, *_ in targets]
        for n, (t_method, t_path, parameters, body) in enumerate(targets):
            name = names[n]
            if (t_method, t_path) == (method, path):
                name = "NextPage"
            elif names.count(name) > 1:  # one link per checklist position: numbered
                name += str(names[:n].count(name))
            link: dict[str, Any] = {
                "operationId": _op(schema, t_method, t_path)["operationId"],
                "parameters": parameters,
            }
            if body is not None:
                link["requestBody"] = body
            links[name] = link


def _problems(operation: dict[str, Any], *statuses: int) -> None:
    responses = operation["responses"]
    for status, response in errors(*statuses).items():
        responses.setdefault(str(status), {"description": response["description"],
                                           "content": response["content"]})  # fmt: skip


def _finish_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    public = path.startswith(PUBLIC_PREFIX)
    operation["security"] = [] if public else [{BEARER: []}]
    if "requestBody" in operation:
        _problems(operation, 400, 413)
    _problems(operation, 503)
    bodies = [
        r["content"] for st, r in responses.items() if 200 <= int(st) < 300 and r.get("content")
    ]
    body = bodies[0] if len(bodies) == 1 else None
    for status, response in responses.items():
        code = int(status)
        content = response.get("content", {})
        if code >= 400:
            # Every error is a problem document, never plain JSON (nor the route's own
            # media type, which FastAPI would also list).
            response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF + "Problem"}}}
        if 200 <= code < 300 and code != 204 and not content and body:
            # Another success of the same route (the sign-off that already existed, the
            # period replaced): the route sends the same model.
            response["content"] = body
        headers = response.setdefault("headers", {})
        if code == 200 and (method, path.removeprefix(API)) in ETAGGED:
            headers["ETag"] = {**_HEADERS["ETag"], "required": True}
        if code == 201 and (method, path.removeprefix(API)) not in NO_LOCATION:
            headers["Location"] = {**_HEADERS["Location"], "required": True}
        if code == 401:
            headers["WWW-Authenticate"] = {**_HEADERS["WWW-Authenticate"], "required": True}
        if code in (429, 503):
            headers["Retry-After"] = {**_HEADERS["Retry-After"], "required": True}
        if not headers:
            response.pop("headers")
    _headers_are_text(operation)


def _headers_are_text(operation: dict[str, Any]) -> None:
    """A header is absent or text, never null; an If-Match whose absence is a 428 is
    declared required and non-empty (optional in the route's signature only so that its
    absence is a 428, not a 422)."""
    needs_if_match = "428" in operation["responses"]
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "header":
            continue
        schema = parameter["schema"]
        options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:
            schema.update(options[0])
        elif options:
            schema["anyOf"] = options
        if needs_if_match and parameter["name"].lower() == "if-match":
            parameter["required"] = True
            schema["minLength"] = max(schema.get("minLength", 0), 1)
            parameter.setdefault("description", "The ETag of the version you last read.")


def build(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    problem = Problem.model_json_schema(ref_template=REF + "{model}")
    components.setdefault("schemas", {}).update(problem.pop("$defs", {}), Problem=problem)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT with `sub`, `exp`, `iss`, `aud`, `roles` and, for force "
            "roles, `force`. `auditor` with a force role (staff, comms_admin, psd, collector) "
            "in one token is refused with 403 `mixed-roles`; admin may hold any role besides.",
        }
    }
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                _finish_operation(path, method, operation)
    _account_create_forms(schema)
    _add_links(schema)
    _name_enums(schema)
    return schema


def render(document: dict[str, Any]) -> str:
    """The document as checked in (openapi.json): keys sorted, so that it reads the same
    on every run and a change shows as a small diff."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def install(app: FastAPI) -> None:
    """Replace FastAPI's generator with `build` (cached, like FastAPI's own)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
