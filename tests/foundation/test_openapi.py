"""The OpenAPI document as generated clients see it: function names, groups and types."""

from __future__ import annotations

import re
from typing import Any

from tests.factories import make_account, make_force, make_unit
from tests.openapi_support import API, METHODS
from tests.openapi_support import operations as _operations

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


async def test_operation_ids_are_unique_snake_case_names_without_path_or_method(document):
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for operation_id in ids:
        assert SNAKE_CASE.fullmatch(operation_id), operation_id
        assert "_api_v1_" not in operation_id, operation_id
        assert not operation_id.endswith(tuple(f"_{m}" for m in METHODS)), operation_id


async def test_generated_clients_call_operations_by_what_they_do(document):
    paths = document["paths"]
    assert paths[f"{API}/requests"]["post"]["operationId"] == "submit_request"
    assert paths[f"{API}/requests/{{request_id}}/approve"]["post"]["operationId"] == (
        "approve_request"
    )
    assert paths[f"{API}/accounts"]["get"]["operationId"] == "list_accounts"
    assert paths[f"{API}/accounts"]["post"]["operationId"] == "create_account"


async def test_every_operation_is_filed_under_its_domain(document):
    for method, path, operation in _operations(document):
        tags = operation.get("tags", [])
        assert tags, (method, path)
        assert all(SNAKE_CASE.fullmatch(tag.replace(" ", "_")) for tag in tags), tags
    tags = {t for _, _, op in _operations(document) for t in op["tags"]}
    assert {"accounts", "people", "requests", "audit", "reports", "imports", "public"} <= tags


def _ref(schema: dict[str, Any]) -> str | None:
    """The component a (possibly nullable) schema refers to."""
    for option in schema.get("anyOf", [schema]):
        if "$ref" in option:
            return option["$ref"].removeprefix("#/components/schemas/")
    return None


def _inline_enums(node: Any, where: str = "") -> list[tuple[str, frozenset[str]]]:
    if isinstance(node, list):
        return [e for item in node for e in _inline_enums(item, where)]
    if not isinstance(node, dict):
        return []
    found = [(where, frozenset(node["enum"]))] if "enum" in node else []
    return found + [e for k, v in node.items() for e in _inline_enums(v, f"{where}/{k}")]


async def test_each_vocabulary_is_one_component_shared_by_inputs_and_outputs(document):
    components = document["components"]["schemas"]
    vocabularies = {
        name: frozenset(components[name]["enum"])
        for name in ("Platform", "Classification", "AccountStatus", "Flag", "RequestKind",
                     "RequestStatus", "UnitKind", "PersonStatus", "DecommissionReason")
    }  # fmt: skip
    assert "tiktok" in vocabularies["Platform"]
    assert "pending_approval" in vocabularies["AccountStatus"]
    # No operation or schema carries its own copy of a vocabulary.
    copies = [
        (where, name)
        for where, values in _inline_enums(document)
        for name, vocabulary in vocabularies.items()
        if values == vocabulary and where != f"/components/schemas/{name}"
    ]
    assert copies == []

    def field(model: str, name: str) -> dict[str, Any]:
        return components[model]["properties"][name]

    account = {"platform": "Platform", "classification": "Classification",
               "status": "AccountStatus"}  # fmt: skip
    for model in ("AccountRead", "AccountCreateByUrl", "AccountCreateByHandle", "AccountBrief",
                  "ComplianceItem"):  # fmt: skip
        for name, vocabulary in account.items():
            if name in components[model]["properties"]:
                assert _ref(field(model, name)) == vocabulary, (model, name)
    assert _ref(field("AccountRead", "flags")["items"]) == "Flag"
    for kind in ("Registration", "Transfer", "Decommission", "OwnerChange"):
        assert _ref(field(f"{kind}RequestRead", "status")) == "RequestStatus"
        assert _ref(field(f"{kind}RequestSummary", "status")) == "RequestStatus"
    assert _ref(field("DecommissionDetailsRead", "reason_code")) == "DecommissionReason"
    assert _ref(field("ComplianceItem", "why")["propertyNames"]) == "Flag"
    assert _ref(field("UnitRead", "kind")) == "UnitKind"
    assert _ref(field("UnitCreate", "kind")) == "UnitKind"
    parameters = {
        p["name"]: p["schema"] for p in document["paths"][f"{API}/accounts"]["get"]["parameters"]
    }
    assert _ref(parameters["platform"]) == "Platform"
    assert _ref(parameters["status"]) == "AccountStatus"


async def test_a_required_if_match_is_a_non_empty_string_and_an_empty_one_is_refused(
    document, client, session, tokens
):  # type: ignore[no-untyped-def]
    required = 0
    for method, path, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "header":
                assert "anyOf" not in parameter["schema"], (method, path, parameter["name"])
            if parameter["name"] == "If-Match" and "428" in operation["responses"]:
                assert parameter["required"] is True, (method, path)
                assert parameter["schema"]["type"] == "string"
                assert parameter["schema"]["minLength"] == 1
                required += 1
    assert required >= 5
    # As the document says: an empty If-Match is no If-Match.
    force = await make_force(session)
    unit = await make_unit(session, force)
    await session.commit()
    admin = tokens.headers("comms_admin", force=force.code)
    r = await client.patch(
        f"{API}/units/{unit.id}", json={"name": "Renamed"}, headers={**admin, "If-Match": ""}
    )
    assert r.status_code == 428
    assert r.headers["content-type"] == "application/problem+json"


def _schema_of(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    ref = response["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.removeprefix("#/components/schemas/")]


async def test_every_answer_with_a_body_declares_its_schema(document):
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status != "204" and int(status) < 400:
                assert response.get("content"), (method, path, status)
                for media in response["content"].values():
                    assert media.get("schema"), (method, path, status)


async def test_a_replaced_period_answers_the_schema_the_document_declares(
    document, client, session, tokens
):  # type: ignore[no-untyped-def]
    force = await make_force(session)
    account = await make_account(session, force)
    await session.commit()
    url = f"{API}/accounts/{account.id}/activity"
    figures = {"period_start": "2026-05-01", "period_end": "2026-05-31", "original_posts": 2,
               "reposts": 0, "replies": 1, "followers": 10}  # fmt: skip
    collector = tokens.headers("collector", force=force.code)
    assert (await client.post(url, json=figures, headers=collector)).status_code == 201
    r = await client.post(url, json={**figures, "followers": 11}, headers=collector)
    assert r.status_code == 200
    declared = document["paths"][f"{API}/accounts/{{account_id}}/activity"]["post"]
    schema = _schema_of(document, declared["responses"]["200"])
    assert set(schema["required"]) <= r.json().keys()
    assert r.json()["followers"] == 11


async def test_problem_errors_are_typed_and_answers_hold_to_it(document, client, session, tokens):  # type: ignore[no-untyped-def]
    components = document["components"]["schemas"]
    errors = components["Problem"]["properties"]["errors"]
    assert _ref(errors["anyOf"][0]["items"]) == "ProblemError"
    item = components["ProblemError"]
    assert item["required"] == ["msg"]
    assert {"loc", "msg", "type", "line", "field"} == item["properties"].keys()
    force = await make_force(session)
    account = await make_account(session, force)
    await session.commit()
    r = await client.post(
        f"{API}/accounts/{account.id}/activity",
        json={"period_start": "soon", "followers": -1},
        headers=tokens.headers("collector", force=force.code),
    )
    assert r.status_code == 422
    assert r.json()["errors"]
    for error in r.json()["errors"]:
        assert error.keys() <= item["properties"].keys()
        assert isinstance(error["msg"], str)
        assert all(isinstance(part, str | int) for part in error["loc"])
