"""The OpenAPI document is a public contract: the served document is the checked-in
openapi.json, and `registry openapi` prints exactly that file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app as cli

CHECKED_IN = Path(__file__).resolve().parents[2] / "openapi.json"
REGENERATE = (
    "The served OpenAPI document differs from openapi.json: run "
    "`registry openapi > openapi.json` and review the diff (README, 'The API contract': "
    "removing or renaming an operationId, schema, enum value or field, making an optional "
    "input required or narrowing a type breaks clients)."
)


async def test_the_served_document_is_the_checked_in_contract(client):  # type: ignore[no-untyped-def]
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json() == json.loads(CHECKED_IN.read_text(encoding="utf-8")), REGENERATE


def test_registry_openapi_prints_the_checked_in_file_byte_for_byte():
    result = CliRunner().invoke(cli, ["openapi"])
    assert result.exit_code == 0, result.output
    assert result.stdout == CHECKED_IN.read_text(encoding="utf-8"), REGENERATE
    document = json.loads(result.stdout)
    assert list(document) == sorted(document)
    assert document["paths"]["/api/v1/requests"]["post"]["operationId"] == "submit_request"
