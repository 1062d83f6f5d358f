"""The OpenAPI document states what every operation takes and answers (the fuzz tests then
hold the service to it)."""

from __future__ import annotations

from app.openapi import LINKS, PUBLIC_PREFIX
from tests.openapi_support import API
from tests.openapi_support import operations as _operations


async def test_every_error_is_a_problem_document_and_never_plain_json(document):
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (method, path)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}


async def test_every_route_but_the_public_ones_needs_a_bearer_token_and_says_so(document):
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for method, path, operation in _operations(document):
        if path.startswith(PUBLIC_PREFIX):
            assert operation["security"] == [], (method, path)
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert {"401", "403"} <= operation["responses"].keys(), (method, path)
            header = operation["responses"]["401"]["headers"]["WWW-Authenticate"]
            assert header["required"] is True


async def test_bodies_may_be_malformed_or_too_large_and_creates_say_where(document):
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= responses.keys(), (method, path)
        if "201" in responses and path != f"{API}/imports/activity":
            assert responses["201"]["headers"]["Location"]["required"] is True, (method, path)


async def test_every_edit_requires_if_match(document):
    for method, path, operation in _operations(document):
        if method == "patch":
            names = {
                (p["in"], p["name"], p.get("required", False))
                for p in operation.get("parameters", [])
            }
            assert ("header", "If-Match", True) in names, path
            assert {"412", "428"} <= operation["responses"].keys(), path


async def test_every_string_parameter_is_bounded(document):
    for method, path, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            options = parameter["schema"].get("anyOf", [parameter["schema"]])
            for schema in options:
                if schema.get("type") == "string":
                    bounded = {"maxLength", "enum", "format", "const"} & schema.keys()
                    assert bounded, (method, path, parameter["name"])


async def test_csv_is_offered_where_lists_stream_and_taken_where_files_are_imported(document):
    paths = document["paths"]
    for path in ("/accounts", "/reports/summary", "/reports/compliance"):
        assert "text/csv" in paths[API + path]["get"]["responses"]["200"]["content"]
    for path in ("/imports/accounts", "/imports/activity"):
        body = paths[API + path]["post"]["requestBody"]
        assert body["required"] is True
        assert list(body["content"]) == ["text/csv"]


async def test_links_lead_from_creates_to_the_operations_on_what_was_created(document):
    ids = {op["operationId"] for _, _, op in _operations(document)}
    links = 0
    for (method, path, status), targets in LINKS.items():
        response = document["paths"][API + path][method]["responses"][status]
        assert len(response["links"]) == len(targets), (method, path)
        for link in response["links"].values():
            assert link["operationId"] in ids
            links += 1
    created = document["paths"][API + "/accounts"]["post"]["responses"]["201"]["links"]
    assert {"GetAccountsAccountId", "PatchAccountsAccountId"} <= created.keys()
    assert created["PatchAccountsAccountId"]["parameters"]["header.If-Match"]
    assert links > 60


async def test_request_kinds_are_a_union_told_apart_by_kind_each_with_its_details(document):
    schemas = document["components"]["schemas"]
    kinds = {"registration": "Registration", "transfer": "Transfer",
             "decommission": "Decommission", "owner_change": "OwnerChange"}  # fmt: skip
    requests = document["paths"][API + "/requests"]
    body = requests["post"]["requestBody"]["content"]["application/json"]["schema"]
    answer = requests["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    for union, suffix in ((body, "RequestCreate"), (answer, "RequestRead")):
        mapping = {kind: f"#/components/schemas/{name}{suffix}" for kind, name in kinds.items()}
        assert union["discriminator"] == {"propertyName": "kind", "mapping": mapping}
        assert sorted(o["$ref"] for o in union["oneOf"]) == sorted(mapping.values())
        for kind, ref in mapping.items():
            schema = schemas[ref.rsplit("/", 1)[1]]
            assert schema["properties"]["kind"]["const"] == kind
            assert "kind" in schema["required"]
    details = schemas["OwnerChangeRequestCreate"]["properties"]["details"]
    assert schemas[details["$ref"].rsplit("/", 1)[1]]["required"] == ["new_owner_id"]
    assert "details" in schemas["DecommissionRequestCreate"]["required"]
    assert "details" not in schemas["TransferRequestCreate"]["required"]
    # Each kind's checklist names only its own items; the path names any kind's.
    transfer = schemas["TransferChecklistItemRead"]["properties"]["item"]
    assert transfer == {"$ref": "#/components/schemas/TransferChecklistItem"}
    assert "credentials_in_force_vault" in schemas["TransferChecklistItem"]["enum"]
    assert "content_archived" not in schemas["TransferChecklistItem"]["enum"]
    tick = document["paths"][API + "/requests/{request_id}/checklist/{item}"]["post"]
    item = next(p for p in tick["parameters"] if p["name"] == "item")
    assert item["schema"]["$ref"] == "#/components/schemas/ChecklistItem"
    assert set(schemas["ChecklistItem"]["enum"]) == set(
        schemas["TransferChecklistItem"]["enum"] + schemas["DecommissionChecklistItem"]["enum"]
    )


async def test_account_creation_is_two_named_forms(document):
    schemas = document["components"]["schemas"]
    body = document["paths"][API + "/accounts"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"anyOf": [
        {"$ref": "#/components/schemas/AccountCreateByUrl"},
        {"$ref": "#/components/schemas/AccountCreateByHandle"},
    ]}  # fmt: skip
    assert schemas["AccountCreateByUrl"]["required"] == ["classification", "url"]
    assert schemas["AccountCreateByHandle"]["required"] == ["classification", "handle", "platform"]
    assert "AccountCreate" not in schemas


async def test_method_not_allowed_names_every_method_the_path_serves(client):
    r = await client.request("PUT", f"{API}/accounts/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert set(r.headers["allow"].split(", ")) == {"GET", "PATCH"}
    r = await client.request("DELETE", f"{API}/units")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
