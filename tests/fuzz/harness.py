"""Schemathesis set-up shared by the stateless and stateful fuzz tests: who calls, with what
configuration, and how valid cases are aimed at the seeded registry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import schemathesis
from schemathesis.generation.meta import TestPhase
from schemathesis.python import asgi
from schemathesis.specs.openapi import stateful

from app.workflows import effects
from app.workflows.checklists import CHECKLISTS
from tests.fuzz.steering import Steering, one_key_per_request
from tests.fuzz.world import HOME, World

SEED = 20261125
# Per operation and phase; REGISTRY_FUZZ_EXAMPLES raises it for a longer local run.
MAX_EXAMPLES = int(os.environ.get("REGISTRY_FUZZ_EXAMPLES", "25"))
STATEFUL_SCENARIOS = int(os.environ.get("REGISTRY_FUZZ_SCENARIOS", "30"))
STATEFUL_STEPS = 8


@dataclass(frozen=True)
class Caller:
    name: str
    roles: tuple[str, ...]
    force: str | None

    @property
    def sub(self) -> str:
        return f"{self.name}@{self.force or 'national'}"

    @property
    def is_national(self) -> bool:
        return self.force is None


CALLERS = {
    "admin": Caller("admin", ("admin",), None),
    "comms_admin": Caller("comms_admin", ("comms_admin",), HOME),
}


PER_OPERATION = ("examples", "coverage", "fuzzing")
# Schemathesis's own list of statuses that refuse invalid input.
REFUSALS = (400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429, "5xx")
PHASES = (*PER_OPERATION, "stateful")


def config(
    token: str, phases: tuple[str, ...] = PHASES, steps: int = STATEFUL_STEPS, mode: str = "all"
) -> schemathesis.Config:
    """Every check, the phases asked for, reproducible."""
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "mode": "all",
            },
            "phases": {
                **{phase: {"enabled": phase in phases} for phase in PER_OPERATION},
                "stateful": {
                    "enabled": "stateful" in phases,
                    "max-steps": steps,
                    "generation": {"max-examples": STATEFUL_SCENARIOS, "mode": mode},
                    # The document's own links. Links inferred from list answers pick each
                    # value from any item (a person of one force, a unit of another), which
                    # is no valid request.
                    "inference": {"algorithms": ["location-headers"]},
                },
            },
            "checks": {
                "enabled": True,
                # RFC 6585: a missing precondition header (If-Match) is a 428.
                "missing_required_header": {
                    "expected-statuses": [400, 401, 403, 406, 415, 422, 428]
                },
                # A valid request can still meet a state that refuses it: a conflict (409,
                # in Schemathesis's defaults) or, its twin for If-Match, a changed object
                # (412) - as when a scenario edits twice with the ETag its link carried.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 412, 429, "5xx"]
                },
                # A stale If-Match (412) or an oversized body (413) is a refusal too.
                "negative_data_rejection": {"expected-statuses": [*REFUSALS, 412, 413]},
            },
            "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
        }
    )


def load(
    app: Any,
    caller: Caller,
    token: str,
    world: World,
    phases: tuple[str, ...],
    steps: int = STATEFUL_STEPS,
    mode: str = "all",
) -> Any:
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=config(token, phases, steps, mode)
    )
    steering = Steering(world, national=caller.is_national)

    @schema.hook("map_case")
    def aim(_ctx: Any, case: schemathesis.Case) -> schemathesis.Case:
        return steering(case)

    return schema


MOVES = ("/approve", "/reject", "/withdraw", "/cancel", "/complete")


def current_etag(_ctx: Any, case: schemathesis.Case, _kwargs: dict[str, Any]) -> None:
    """A valid If-Match names the version being changed: read the object's ETag first, as a
    client would, unless a link already carried it from the response it follows."""
    meta = case.meta
    headers = case.headers or {}
    auth = headers.get("Authorization")
    if meta is None or not meta.generation.mode.is_positive or "If-Match" not in headers:
        return
    if auth is None or str(headers["If-Match"]).startswith('"v'):
        return
    path = case.formatted_path
    for move in MOVES:
        path = path.removesuffix(move)
    with asgi.get_client(case.operation.app) as client:
        reply = client.get(path, headers={"Authorization": auth})
    case.headers = {**headers, "If-Match": reply.headers.get("ETag", "*")}


# A colleague's token (another comms admin of the home force), set by the stateful test: a
# scenario's request is submitted by the colleague, so that the caller may decide it (no one
# approves their own request, SPEC §6) and the links on to approve, checklist and complete
# lead to valid calls.
COLLEAGUE: dict[str, str] = {}


def submitted_by_a_colleague(_ctx: Any, case: schemathesis.Case, _kwargs: dict[str, Any]) -> None:
    meta = case.meta
    token = COLLEAGUE.get("token")
    if token is None or meta is None or not meta.generation.mode.is_positive:
        return
    if meta.phase.name != TestPhase.STATEFUL or case.method.upper() != "POST":
        return
    headers = case.headers or {}
    if case.path != "/api/v1/requests" or "Authorization" not in headers:
        return
    _fitting_kind(case, headers["Authorization"])
    case.headers = {**headers, "Authorization": f"Bearer {token}"}
    one_key_per_request(case)  # the body may have changed


# A kind that fits each state (SPEC §6), with the details it needs, tried in this order.
_FITTING = (("registration", {}), ("decommission", {"reason_code": "other"}),
            ("transfer", {}))  # fmt: skip
# Set while scenarios work requests through to completion (`with_checklist`): a kind with a
# checklist where the account allows one (approval itself completes the others).
WITH_CHECKLIST: dict[str, bool] = {}


@contextmanager
def with_checklist() -> Iterator[None]:
    WITH_CHECKLIST["on"] = True
    try:
        yield
    finally:
        WITH_CHECKLIST.clear()


def _fitting_kind(case: schemathesis.Case, auth: str) -> None:
    """A request of a kind the account's state allows (the document cannot know the state):
    the kind generated if it fits, else the first that does."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("account_id"), str):
        return
    with asgi.get_client(case.operation.app) as client:
        reply = client.get(
            f"/api/v1/accounts/{body['account_id']}", headers={"Authorization": auth}
        )
    if reply.status_code != 200:
        return
    account = SimpleNamespace(**reply.json())
    fitting = [
        (kind, details)
        for kind, details in _FITTING
        if effects.fit_problem(kind, account) is None  # type: ignore[arg-type]
    ]
    if WITH_CHECKLIST and any(CHECKLISTS[kind] for kind, _ in fitting):
        fitting = [(kind, details) for kind, details in fitting if CHECKLISTS[kind]]
    generated = str(body.get("kind"))
    fits = effects.fit_problem(generated, account) is None  # type: ignore[arg-type]
    if not fitting or (fits and (CHECKLISTS.get(generated) or not WITH_CHECKLIST)):
        return
    kind, details = fitting[0]
    owner = {"owner_id": body.get("details", {}).get("owner_id")} if kind == "transfer" else {}
    body.update(kind=kind, details={**details, **{k: v for k, v in owner.items() if v}})


_likely_root = stateful.is_likely_root_transition


def _creates_are_roots(operation: Any, node: Any, produced_anywhere: set[str]) -> bool:
    # Schemathesis names a resource after its schema (AccountRead, UnitRead) but the one an
    # id field refers to after the field (owner_id: "Owner", unit_id: "Unit"), so it finds
    # no producer for them and never starts a scenario with a create whose body names other
    # objects (an account, a request). Every create here can succeed: let scenarios start
    # with it, so that account creation leads on to a request and its moves.
    create = operation.method == "post" and not operation.path_parameters
    return create or _likely_root(operation, node, produced_anywhere)


def install_hooks() -> None:
    """`before_call` hooks can only be global; installed for the fuzz tests' lifetime."""
    for hook in (current_etag, submitted_by_a_colleague):
        schemathesis.hooks.GLOBAL_HOOK_DISPATCHER.register_hook_with_name(hook, "before_call")


def uninstall_hooks() -> None:
    for hook in (current_etag, submitted_by_a_colleague):
        schemathesis.hooks.GLOBAL_HOOK_DISPATCHER.unregister(hook)


def _accounts_are_roots(operation: Any, _node: Any, _produced_anywhere: set[str]) -> bool:
    # A request for a random account is a 404: a decision's scenarios start with an account.
    return bool(operation.method == "post" and operation.path == "/api/v1/accounts")


@contextmanager
def creates_are_roots(only_accounts: bool = False) -> Iterator[None]:
    """Scenarios may start with any create (see _creates_are_roots), or only with account
    creation."""
    rule = _accounts_are_roots if only_accounts else _creates_are_roots
    stateful.is_likely_root_transition = rule
    try:
        yield
    finally:
        stateful.is_likely_root_transition = _likely_root
