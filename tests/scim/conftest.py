from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_force

SCIM = "/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def issue_credential(client: Any, tokens: Any, force: str = "staffs", name: str = "entra"):
    r = await client.post(
        f"/api/v1/forces/{force}/scim-credentials",
        json={"name": name},
        headers=tokens.headers("admin", force=None),
    )
    assert r.status_code == 201, r.text
    return r.json()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}


@pytest.fixture
async def forces(session):  # type: ignore[no-untyped-def]
    return await make_force(session, "staffs"), await make_force(session, "wmids")


@pytest.fixture
async def scim(client, tokens, forces):  # type: ignore[no-untyped-def]
    """Headers of a live SCIM credential of `staffs`."""
    made = await issue_credential(client, tokens)
    return bearer(made["secret"])


def user_body(user_name: str = "jo.bloggs@staffs.police.uk", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE],
        "userName": user_name,
        "externalId": "S12345",
        "active": True,
        "displayName": "Jo Bloggs",
        "name": {"givenName": "Jo", "familyName": "Bloggs", "formatted": "Jo Bloggs"},
        "title": "Digital Media Officer",
        "emails": [{"type": "work", "value": "jo.bloggs@staffs.police.uk", "primary": True}],
        ENTERPRISE: {"department": "Corporate Communications", "employeeNumber": "12345"},
    }
    body.update(extra)
    return body
