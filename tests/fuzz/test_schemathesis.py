"""The API against its own OpenAPI document: Schemathesis runs every check in every phase
(examples, coverage and fuzzing per operation; then stateful scenarios that follow the
document's links) in-process, as a national admin and as a force's comms_admin, over a
seeded registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
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
# The workflow alone: account creation, its link to a request, and that request's moves.
WORKFLOW = r"^/api/v1/(accounts|requests(/.*)?)$"


def test_linked_operations_conform_in_sequence(fuzz_app, world, caller, tokens) -> None:  # type: ignore[no-untyped-def]
    who, token = caller
    harness.COLLEAGUE["token"] = tokens.token("comms_admin", force=HOME, sub=f"colleague@{HOME}")
    linked = harness.load(fuzz_app, who, token, world, phases=("stateful",))
    try:
        scenarios, valid, failures = _scenarios(linked)
        # The workflow's links alone, scenarios starting with account creation, so that
        # they spend their steps on a request and its moves (the valid ones are counted).
        with harness.creates_are_roots():
            workflow = _scenarios(linked.include(path_regex=WORKFLOW))
    finally:
        harness.COLLEAGUE.clear()
    print(f"stateful ({who.name}): {scenarios} scenarios, valid moves {valid}; "
          f"workflow alone: {workflow[0]} scenarios, valid moves {workflow[1]}")  # fmt: skip
    assert scenarios > 0 and workflow[0] > 0
    failures.update(workflow[2])
    assert not failures, "\n\n".join(
        f"{op} — {title}\n{text}" for (op, title), text in failures.items()
    )


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
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        key = (failure.operation or "?", failure.title)
                        failures.setdefault(key, _describe(event.recorder, case_id, check))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures[("error", repr(event))] = str(getattr(event, "info", event))
    return scenarios, valid, failures


def _describe(recorder: Any, case_id: str, check: Any) -> str:
    info = check.failure_info
    interaction = recorder.interactions.get(case_id)
    response = getattr(interaction, "response", None)
    answer = ""
    if response is not None:
        answer = f"[{response.status_code}] {(response.content or b'')[:600]!r}"
    return f"{info.failure.message}\n{answer}\n{info.code_sample}"
