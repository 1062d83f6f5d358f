"""Teach the generator the rules JSON Schema cannot state, for valid (positive) cases only.

The OpenAPI document states every rule it can (types, lengths, enums, patterns, per-kind
request details, required If-Match). What it cannot state depends on the registry's state
or on the caller: only cursors the service issued are valid, force-scoped callers act in
their own force and national ones name it, a body's ids must name live objects of that
force, an Idempotency-Key is one request, a handle must fit its platform. A valid case that
breaks one of these is not a valid request, so the generator is taught to keep them;
invalid (negative) cases are left exactly as generated.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import schemathesis
from schemathesis.generation.meta import TestPhase

from app import clock
from app.accounts import handles
from app.workflows.checklists import CHECKLISTS
from tests.fuzz.world import HOME, World

# Path and body fields that name objects, by the kind of object they name.
KINDS = {
    # Followers are redirected to a live account, never to a decommissioned one.
    "account_id": "account", "redirect_account_id": "live_account",
    "person_id": "person", "owner_id": "person", "new_owner_id": "person",
    "unit_id": "unit", "parent_id": "unit", "objective_id": "objective",
    "guideline_id": "guideline", "request_id": "request", "hold_id": "hold",
    "activity_id": "activity", "attestation_id": "attestation",
}  # fmt: skip
CHECKLIST_ITEMS = sorted({item.name for items in CHECKLISTS.values() for item in items})
# Handle shapes each platform accepts; one is picked per case.
HANDLES = {
    "x": "{w}", "facebook": "{w}", "instagram": "{w}", "tiktok": "{w}", "threads": "{w}",
    "youtube": "{w}", "snapchat": "{w}", "flickr": "{w}", "nextdoor": "{w}",
    "linkedin": "company/{w}", "bluesky": "{w}.bsky.social", "mastodon": "{w}@mastodon.social",
    "other": "example.org/{w}",
}  # fmt: skip


_unique = itertools.count(1)


def _pick(seed: object, values: list[str]) -> str:
    digest = hashlib.sha256(repr(seed).encode()).digest()
    return values[int.from_bytes(digest[:4], "big") % len(values)]


def _word(seed: object) -> str:
    return "fz" + hashlib.sha256(repr(seed).encode()).hexdigest()[:8]


def account_link(seed: object) -> tuple[str, str, str]:
    """(platform, handle, url) of a well-formed account."""
    platform = _pick(("platform", seed), sorted(HANDLES))
    handle = HANDLES[platform].format(w=_word(seed))
    parsed = handles.resolve(url=None, platform=platform, handle=handle)
    url = parsed.url or f"https://{parsed.handle}"
    return parsed.platform, parsed.handle, url


def one_key_per_request(case: schemathesis.Case) -> None:
    """A key names one request: the same key with another body is refused by design, so a
    generated key is made the request's own (again after any hook that changes the body)."""
    headers = case.headers
    if not headers or "Idempotency-Key" not in headers:
        return
    seed = json.dumps([case.path, case.path_parameters, case.query, case.body],
                      sort_keys=True, default=str)  # fmt: skip
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    generated = str(headers["Idempotency-Key"]).split("~", 1)[0][:200]
    headers["Idempotency-Key"] = f"{generated}~{digest}"


class Steering:
    def __init__(self, world: World, *, national: bool) -> None:
        self.world = world
        self.national = national

    def _id(self, name: str, value: Any, *, changes: bool = False) -> Any:
        kind = KINDS.get(name) or ""
        known = (changes and self.world.spare.get(kind)) or self.world.ids.get(kind, [])
        return _pick((name, value), known) if known else value

    def path(self, case: schemathesis.Case) -> None:
        params = dict(case.path_parameters or {})
        for name, value in params.items():
            # Mostly a seeded object; sometimes the other force's (a 404 for force roles)
            # or the random id as generated (a 404 for all), so scoping stays exercised.
            seed = (name, value, case.query, case.body)
            aim = _pick(seed, ["keep", "away", "home", "home", "home"])
            away = self.world.away.get(KINDS.get(name) or "")
            if name in KINDS and aim == "home":
                # An edit or move of the object the path names goes to a spare one.
                changes = case.method.upper() != "GET" and name == _last_id(case.path)
                params[name] = self._id(name, seed, changes=changes)
            elif name in KINDS and aim == "away" and away and case.method.upper() == "GET":
                params[name] = _pick(seed, away)
            elif name == "code":
                params[name] = _pick(value, [HOME, *self.world.codes["force"], str(value)])
            elif name == "item":
                params[name] = _pick(value, CHECKLIST_ITEMS)
        case.path_parameters = params

    def query(self, case: schemathesis.Case) -> None:
        query = {k: v for k, v in (case.query or {}).items() if k != "cursor"}
        if "force" in query and not self.national:
            query["force"] = HOME
        if case.path.endswith("/imports/accounts") and self.national:
            query["force"] = HOME
        if case.path.endswith(("/lookup", "/public/verify")):
            seed = json.dumps(query, sort_keys=True, default=str)
            platform, handle, url = account_link(seed)
            if "url" in query or not query.get("platform") or not query.get("handle"):
                known = self.world.codes["url"]
                query = {"url": _pick(seed, [*known, url])}
            else:
                query.update(platform=platform, handle=handle)
        case.query = query

    def body(self, case: schemathesis.Case) -> None:
        body = case.body
        if not isinstance(body, dict):
            return
        if "force" in body or (self.national and "force" in _properties(case)):
            body["force"] = HOME
        linked = case.meta is not None and case.meta.phase.name == TestPhase.STATEFUL
        for name, value in list(body.items()):
            if linked and name == "account_id":
                continue  # a scenario's request is for the account its link names
            if name in KINDS and value is not None:
                body[name] = self._id(name, value)
        if isinstance(body.get("objectives"), list):
            codes = self.world.codes["objective"]
            body["objectives"] = sorted({_pick(c, codes) for c in body["objectives"]})
        if body.get("kind") == "transfer":
            # A transfer names its new owner where the account has none (the document
            # cannot know which accounts have one): always name one.
            details = body.setdefault("details", {})
            if isinstance(details, dict) and details.get("owner_id") is None:
                details["owner_id"] = self._id("owner_id", json.dumps(body, default=str))
        if isinstance(body.get("details"), dict):
            details = body["details"]
            for name, value in list(details.items()):
                if name in KINDS and value is not None:
                    details[name] = self._id(name, value)
            redirect = details.get("redirect_account_id")
            if redirect is not None and redirect == body.get("account_id"):
                # Followers go to another account than the one closing.
                others = [a for a in self.world.ids["live_account"] if a != redirect]
                details["redirect_account_id"] = _pick(redirect, others)
            if isinstance(details.get("objectives"), list):
                codes = self.world.codes["objective"]
                details["objectives"] = sorted({_pick(c, codes) for c in details["objectives"]})
        if case.path.startswith("/api/v1/webhooks") and "url" in body:
            # A receiver must be https at a public address (a literal one: no DNS in tests).
            body["url"] = "https://93.184.215.14/" + _word(json.dumps(body, default=str))
            if "event_types" in body:  # names from the event catalogue, which grows
                body["event_types"] = ["request.submitted"]
        elif {"url", "platform", "handle"} & body.keys():
            self._account(case, body)
        if isinstance(body.get("last_post_at"), str):
            seen = datetime.fromisoformat(body["last_post_at"])
            body["last_post_at"] = min(seen, clock.now()).isoformat()
        if self.national and "filter" in _properties(case) and body.get("filter") is None:
            body["filter"] = {}  # national callers name the force in the filter
        if isinstance(body.get("filter"), dict):  # GET /accounts's parameters, as an object
            scope = body["filter"]
            if "force" in scope or self.national:
                scope["force"] = HOME
            for name, value in list(scope.items()):
                if name in KINDS and value is not None:
                    scope[name] = self._id(name, value)
        if "due_on" in body:  # a campaign is due after today
            due = max(date.fromisoformat(body["due_on"]), clock.today() + timedelta(days=1))
            body["due_on"] = due.isoformat()
        if "left_on" in body:
            body["left_on"] = min(date.fromisoformat(body["left_on"]), clock.today()).isoformat()
        if (
            "period_start" in body
            and "period_end" in body
            and body["period_end"] < body["period_start"]
        ):
            body["period_start"], body["period_end"] = body["period_end"], body["period_start"]

    def _account(self, case: schemathesis.Case, body: dict[str, Any]) -> None:
        seed = json.dumps(body, sort_keys=True, default=str)
        platform, handle, url = account_link(seed)
        if case.method.upper() == "PATCH":
            # An edited link must stay on the account's platform: keep the one it has.
            body.pop("url", None)
            return
        body.pop("url", None)
        body.pop("platform", None)
        body.pop("handle", None)
        if _pick(seed, ["url", "pair"]) == "url":
            body["url"] = url
        else:
            body.update(platform=platform, handle=handle)

    def csv(self, case: schemathesis.Case) -> None:
        seed = repr(case.body)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if case.path.endswith("/imports/activity"):
            writer.writerow(["platform", "handle", "period_start", "period_end", "original_posts",
                             "reposts", "replies", "followers", "last_post_at"])  # fmt: skip
            account = _pick(seed, self.world.codes["account"])
            platform, handle = account.split(":")
            month = int(_pick(seed, [str(m) for m in range(1, 13)]))
            start = date(2025, month, 1)
            end = date(2025 + month // 12, month % 12 + 1, 1).toordinal() - 1
            writer.writerow([platform, handle, start.isoformat(),
                             date.fromordinal(end).isoformat(), 10, 2, 3, 500, ""])  # fmt: skip
        else:
            writer.writerow(["url", "display_name", "classification", "status", "objectives"])
            for n in range(int(_pick(seed, ["1", "2", "3"]))):
                *_, url = account_link((seed, n, next(_unique)))
                objectives = ";".join(self.world.codes["objective"][: n % 3])
                writer.writerow([url, f"Imported {n}", "official", "active", objectives])
        case.body = out.getvalue()

    def headers(self, case: schemathesis.Case) -> None:
        one_key_per_request(case)

    def __call__(self, case: schemathesis.Case) -> schemathesis.Case:
        meta = case.meta
        if meta is None or not meta.generation.mode.is_positive:
            return case
        # Cases of one phase may share containers: steer copies, never the originals.
        case.body = copy.deepcopy(case.body)
        case.headers = dict(case.headers) if case.headers else case.headers
        case.query = dict(case.query) if case.query else case.query
        if meta.phase.name != TestPhase.STATEFUL:
            # A scenario's path ids come from the responses its links follow (and the hook
            # runs after the link's values are in place, so it must leave them be).
            self.path(case)
        self.query(case)
        self.bounds(case)
        if case.media_type == "text/csv":
            self.csv(case)
        else:
            self.body(case)
        self.headers(case)
        return case

    def bounds(self, case: schemathesis.Case) -> None:
        """Dates and instants into the bounds the document states (formatMinimum and
        formatMaximum, which the generator does not read)."""
        params = {
            p["name"]: p.get("schema", {})
            for p in case.operation.definition.raw.get("parameters", [])
            if p.get("in") == "query"
        }
        for values, schemas in ((case.query, params), (case.body, _properties(case))):
            if not isinstance(values, dict):
                continue
            for name, value in list(values.items()):
                bounds = _bounds(schemas.get(name, {}))
                if bounds is not None and isinstance(value, str):
                    values[name] = _clamp(value, *bounds)


def _bounds(schema: dict[str, Any]) -> tuple[str, str] | None:
    for branch in [schema, *schema.get("anyOf", [])]:
        if "formatMinimum" in branch:
            return branch["formatMinimum"], branch["formatMaximum"]
    return None


def _clamp(value: str, low: str, high: str) -> str:
    """value, or the bound it passes (compared in UTC; an instant that leaves the calendar
    in UTC counts as past the bound on its side)."""
    if "T" not in low:
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
        return min(max(day, date.fromisoformat(low)), date.fromisoformat(high)).isoformat()
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    lo, hi = datetime.fromisoformat(low), datetime.fromisoformat(high)
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        return (lo if at.year < 5000 else hi).isoformat()
    return min(max(utc, lo), hi).isoformat()


def _last_id(path: str) -> str | None:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return names[-1] if names else None


def _properties(case: schemathesis.Case) -> dict[str, Any]:
    body = case.operation.definition.raw.get("requestBody", {})
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    components = case.operation.schema.raw_schema["components"]["schemas"]
    properties: dict[str, Any] = {}
    # One schema, or named alternatives (a request's kinds, account creation's two forms).
    for option in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        ref = option.get("$ref")
        if ref:
            option = components[ref.rsplit("/", 1)[1]]
        properties.update(option.get("properties", {}))
    return properties
