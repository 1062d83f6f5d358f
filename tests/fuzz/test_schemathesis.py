"""The API against its own OpenAPI document: Schemathesis runs every check in every phase
(examples, coverage and fuzzing per operation; then stateful scenarios that follow the
document's links) in-process, as a national admin and as a force's comms_admin, over a
seeded registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.core import NotSet
from schemathesis.engine import events
from schemathesis.python import asgi

from app.config import Settings
from app.main import create_app
from tests.fuzz import harness
from tests.fuzz.world import HOME, OWNER_SUBJECT, World, seed


@pytest.fixture(scope="session")
def fuzz_app(settings: Settings) -> Iterator[Any]:
    # Its own app and engine: Schemathesis drives ASGI apps from a thread with its own event
    # loop, and pooled database connections belong to the loop that opened them.
    app = create_app(settings)
    harness.install_hooks()
    yield app
    harness.uninstall_hooks()
    asgi.shutdown_lifespans()


@pytest.fixture
async def world(session, client, tokens) -> World:  # type: ignore[no-untyped-def]
    subjects = {"comms_admin": "comms_admin@staffs", "psd": "psd@staffs", "staff": "staff@staffs"}
    headers = {role: tokens.headers(role, sub=sub) for role, sub in subjects.items()}
    headers["owner"] = tokens.headers("staff", sub=OWNER_SUBJECT)
    return await seed(session, client, headers, subjects)


@pytest.fixture(params=sorted(harness.CALLERS))
def caller(request, tokens) -> tuple[harness.Caller, str]:  # type: ignore[no-untyped-def]
    who = harness.CALLERS[request.param]
    return who, tokens.token(*who.roles, force=who.force, sub=who.sub)


@pytest.fixture
def fuzz_schema(request, fuzz_app, world, caller) -> Any:  # type: ignore[no-untyped-def]
    who, token = caller
    # schemathesis.pytest.from_fixture still renames subtests through `node._nodeid`, which
    # pytest 9 no longer has; give it the attribute to write to.
    request.node._nodeid = request.node.nodeid
    return harness.load(fuzz_app, who, token, world, phases=harness.PER_OPERATION)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
def test_every_operation_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    case.call_and_validate()


# Moves of a request whose valid (2xx) calls in the stateful phase are counted, per caller.
MOVES = {"approve": "/approve", "checklist": "/checklist/{item}", "complete": "/complete"}
# A decision's operations alone: account creation, a request for it, and the moves that take
# the request through its checklist to completion.
DECISIONS = r"^/api/v1/(accounts|requests(/\{request_id\}/(approve|checklist/\{item\}|complete))?)$"
# Completion waits for every required tick, each a step, so the scenarios are longer.
DECISION_STEPS = 30


def test_linked_operations_conform_in_sequence(fuzz_app, world, caller, tokens) -> None:  # type: ignore[no-untyped-def]
    who, token = caller
    harness.COLLEAGUE["token"] = tokens.token("comms_admin", force=HOME, sub=f"colleague@{HOME}")
    linked = harness.load(fuzz_app, who, token, world, phases=("stateful",))
    # Valid sequences only: invalid input to each move is the other scenarios' and phases'.
    deciding = harness.load(
        fuzz_app, who, token, world, phases=("stateful",), steps=DECISION_STEPS, mode="positive"
    ).include(path_regex=DECISIONS, method="POST")
    try:
        # Decisions first, in scenarios that start with account creation and submit a kind
        # with a checklist where the account allows one: the whole document's scenarios
        # publish new guidelines, which the seeded owners have not signed, and no request
        # for their accounts can then be approved.
        with harness.creates_are_roots(only_accounts=True), harness.with_checklist():
            decisions = _scenarios(deciding)
        scenarios, valid, failures = _scenarios(linked)
    finally:
        harness.COLLEAGUE.clear()
    print(f"stateful ({who.name}): {scenarios} scenarios, valid moves {valid}; "
          f"decisions alone: {decisions[0]} scenarios, valid moves {decisions[1]}")  # fmt: skip
    assert scenarios > 0 and decisions[0] > 0
    failures.update(decisions[2])
    assert not failures, "\n\n".join(
        f"{op} — {title}\n{text}" for (op, title), text in failures.items()
    )
    if who.name == "comms_admin":
        # The links lead on from a submitted request to its approval, each tick of its
        # checklist and its completion (a caller of the request's force, not its requester).
        made = {move: valid[move] + decisions[1][move] for move in MOVES}
        assert all(made.values()), f"no valid call of {[m for m, n in made.items() if not n]}"


def _scenarios(linked: Any) -> tuple[int, dict[str, int], dict[tuple[str, str], str]]:
    # Schemathesis's own runner: scenarios against a registry that moves on cannot be
    # replayed exactly, and it knows to report a failure as it happened instead.
    failures: dict[tuple[str, str], str] = {}
    scenarios = 0
    valid = dict.fromkeys(MOVES, 0)
    for event in schemathesis.engine.from_schema(linked).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for case_id, interaction in event.recorder.interactions.items():
                case = event.recorder.cases[case_id].value
                ok = interaction.response is not None and interaction.response.status_code < 300
                for move, suffix in MOVES.items():
                    if ok and case.method.upper() == "POST" and case.path.endswith(suffix):
                        valid[move] += 1
            for case_id, checks in event.recorder.checks.items():
                case = event.recorder.cases[case_id].value
                for check in checks:
                    if check.failure_info is not None and not _no_body_sent(case, check):
                        failure = check.failure_info.failure
                        key = (failure.operation or "?", failure.title)
                        failures.setdefault(key, _describe(event.recorder, case_id, check))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures[("error", repr(event))] = str(getattr(event, "info", event))
    return scenarios, valid, failures


def _no_body_sent(case: Any, check: Any) -> bool:
    """A scenario's step that Schemathesis counts as negative for its body, though it sent
    none where the document makes the body optional (a move's comment): nothing invalid
    reached the server, so accepting it is no failure."""
    body = case.operation.definition.raw.get("requestBody")
    return bool(
        check.failure_info.failure.title == "Schema-violating request accepted"
        and isinstance(case.body, NotSet)
        and body is not None
        and not body.get("required", False)
    )


def _describe(recorder: Any, case_id: str, check: Any) -> str:
    info = check.failure_info
    interaction = recorder.interactions.get(case_id)
    response = getattr(interaction, "response", None)
    answer = ""
    if response is not None:
        answer = f"[{response.status_code}] {(response.content or b'')[:600]!r}"
    return f"{info.failure.message}\n{answer}\n{info.code_sample}"
