"""Tokens as Microsoft Entra ID issues them: app roles mapped to ours
(REGISTRY_OIDC_ROLE_MAP), the force from a configured claim or fixed per tenant,
several audiences, a configurable subject claim, and a 403 that names a missing role."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from app.auth.tokens import TokenVerifier
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.auth.test_tokens import assert_rejected, public_jwk, signed, write_jwks
from tests.factories import make_account, make_force

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISS = f"https://login.microsoftonline.com/{TENANT}/v2.0"
CLIENT_ID = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
APP_ID_URI = "api://registry.staffs.police.uk"
FORCE_CLAIM = "extension_3f2a9c1e5b7d4e8f9a0b1c2d3e4f5a6b_force"
ROLE_MAP = "Registry.Admin=admin,Registry.Comms=comms_admin,Registry.Staff=staff,Registry.PSD=psd"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(tmp_path: Path, key: Any) -> Path:
    path = tmp_path / "entra-keys.json"
    write_jwks(path, public_jwk(key, "nOo3ZDrODXEK1jKWhXslHR_KXEg", x5t="nOo3ZDrODXEK1jKWhXslHR"))
    return path


def entra_settings(jwks: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "auth_mode": "oidc",
        "jwt_issuer": ISS,
        "jwt_audience": f"{CLIENT_ID}, {APP_ID_URI}",
        "oidc_jwks_file": str(jwks),
        "oidc_force_claim": FORCE_CLAIM,
        "oidc_role_map": ROLE_MAP,
    }
    return Settings(**(values | overrides))


def entra_claims(**overrides: Any) -> dict[str, Any]:
    """An Entra ID v2.0 access token's payload for a user assigned an app role."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": CLIENT_ID,
        "iss": ISS,
        "iat": now,
        "nbf": now,
        "exp": now + 3900,
        "aio": "AWQAm/8TAAAA",
        "azp": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "azpacr": "0",
        "name": "Alex Officer",
        "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "alex.officer@staffs.police.uk",
        "rh": "0.AAAA",
        "roles": ["Registry.Comms"],
        "scp": "access_as_user",
        "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
        "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0",
        FORCE_CLAIM: "staffs",
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def entra_token(key: Any, **overrides: Any) -> str:
    return signed(key, entra_claims(**overrides), kid="nOo3ZDrODXEK1jKWhXslHR_KXEg")


# -- the verifier ---------------------------------------------------------------------------


async def test_app_roles_are_mapped_and_the_force_read_from_its_claim(jwks, key):
    verifier = TokenVerifier(entra_settings(jwks))
    result = await verifier.verify(entra_token(key, roles=["Registry.Comms", "Other.App.Role"]))
    assert result.roles == frozenset({"comms_admin"})
    assert result.force == "staffs"
    assert result.sub == "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ"
    assert result.name == "Alex Officer"


async def test_with_a_role_map_our_bare_role_names_do_not_count(jwks, key):
    verifier = TokenVerifier(entra_settings(jwks))
    result = await verifier.verify(entra_token(key, roles=["admin", "comms_admin"]))
    assert result.roles == frozenset()
    assert "Registry.Admin" in (result.missing_role or "")


async def test_without_a_role_map_our_role_names_count(jwks, key):
    verifier = TokenVerifier(entra_settings(jwks, oidc_role_map={}))
    result = await verifier.verify(entra_token(key, roles=["comms_admin", "Registry.Comms"]))
    assert result.roles == frozenset({"comms_admin"})


@pytest.mark.parametrize("audience", [CLIENT_ID, APP_ID_URI, ["someone-else", APP_ID_URI]])
async def test_any_one_of_several_audiences_is_accepted(jwks, key, audience):
    verifier = TokenVerifier(entra_settings(jwks))
    assert (await verifier.verify(entra_token(key, aud=audience))).roles == {"comms_admin"}


@pytest.mark.parametrize("audience", ["api://another-app", ["a", "b"], [], 42, [CLIENT_ID, 1]])
async def test_an_audience_not_configured_is_401(jwks, key, audience):
    verifier = TokenVerifier(entra_settings(jwks))
    await assert_rejected(verifier, entra_token(key, aud=audience), "invalid audience")


async def test_a_missing_audience_is_401(jwks, key):
    verifier = TokenVerifier(entra_settings(jwks))
    await assert_rejected(verifier, entra_token(key, aud=None), "missing claim: aud")


async def test_the_force_claim_value_is_read_as_a_force_code(jwks, key):
    verifier = TokenVerifier(entra_settings(jwks))
    assert (await verifier.verify(entra_token(key, **{FORCE_CLAIM: " Staffs "}))).force == "staffs"
    await assert_rejected(
        verifier,
        entra_token(key, **{FORCE_CLAIM: ["staffs"]}),
        f"invalid force claim: {FORCE_CLAIM}",
    )


async def test_the_default_force_claim_is_ignored_when_another_is_configured(jwks, key):
    verifier = TokenVerifier(entra_settings(jwks))
    token = entra_token(key, force="wmids", **{FORCE_CLAIM: None})
    await assert_rejected(verifier, token, f"missing force claim: {FORCE_CLAIM}")


async def test_a_fixed_force_serves_a_single_force_tenant(jwks, key):
    verifier = TokenVerifier(entra_settings(jwks, oidc_force="staffs"))
    result = await verifier.verify(entra_token(key, **{FORCE_CLAIM: None}))
    assert result.force == "staffs" and result.roles == {"comms_admin"}
    assert (await verifier.verify(entra_token(key, sub="x2"))).force == "staffs"
    await assert_rejected(
        verifier, entra_token(key, sub="x3", **{FORCE_CLAIM: "wmids"}), "not this tenant's force"
    )


async def test_the_subject_claim_is_configurable(jwks, key):
    verifier = TokenVerifier(entra_settings(jwks, oidc_subject_claim="oid"))
    assert (await verifier.verify(entra_token(key))).sub == "690222be-ff1a-4d56-abd1-7e4f7d38e474"
    await assert_rejected(verifier, entra_token(key, oid=None), "missing claim: oid")
    await assert_rejected(verifier, entra_token(key, oid="a\x00b"), "invalid subject")


async def test_oidc_mappings_do_not_apply_in_hs256_mode() -> None:
    settings = Settings(jwt_secret="s" * 40, oidc_role_map=ROLE_MAP, oidc_force_claim="dept")
    from app.auth.tokens import mint_token

    verifier = TokenVerifier(settings)
    result = await verifier.verify(mint_token(settings, sub="a", roles=["psd"], force="staffs"))
    assert result.roles == {"psd"} and result.force == "staffs"


# -- settings -------------------------------------------------------------------------------


def test_the_role_map_and_audiences_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(
        "REGISTRY_OIDC_ROLE_MAP", " Registry.Admin = admin ,Registry.Comms=comms_admin,"
    )
    monkeypatch.setenv("REGISTRY_JWT_AUDIENCE", f"{CLIENT_ID},{APP_ID_URI}")
    settings = Settings()
    assert settings.oidc_role_map == {"Registry.Admin": "admin", "Registry.Comms": "comms_admin"}
    assert settings.jwt_audiences == (CLIENT_ID, APP_ID_URI)


@pytest.mark.parametrize("value", ["Registry.Admin=superuser", "Registry.Admin", "=admin"])
def test_a_role_map_naming_no_role_of_ours_is_refused_at_start(monkeypatch, value):
    monkeypatch.setenv("REGISTRY_OIDC_ROLE_MAP", value)
    with pytest.raises(ValidationError):
        Settings()


# -- end to end over HTTP -------------------------------------------------------------------


@pytest.fixture
async def entra_client(
    settings: Settings, db: Database, jwks: Path
) -> AsyncIterator[httpx.AsyncClient]:
    entra = entra_settings(jwks, database_url=settings.database_url, log_level="WARNING")
    app = create_app(entra, database=db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_entra_rs256_token_works_end_to_end(entra_client, session, key):
    await make_force(session)
    token = entra_token(key, aud=APP_ID_URI)
    me = await entra_client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    body = me.json()
    assert (body["roles"], body["force"], body["name"]) == (
        ["comms_admin"],
        "staffs",
        "Alex Officer",
    )
    staff_id = f"E{uuid.uuid4().hex[:6]}"
    created = await entra_client.post(
        "/api/v1/people", headers=bearer(token), json={"staff_id": staff_id, "name": "New Starter"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["force"] == "staffs"
    listed = await entra_client.get("/api/v1/people", headers=bearer(token))
    assert [p["staff_id"] for p in listed.json()["items"]] == [staff_id]


async def test_a_user_without_an_app_role_gets_403_naming_it(entra_client, session, key):
    await make_force(session)
    r = await entra_client.get("/api/v1/me", headers=bearer(entra_token(key, roles=None)))
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "no-known-role"
    assert "no `roles` claim" in body["detail"]
    for role in ("Registry.Admin", "Registry.Comms", "Registry.PSD", "Registry.Staff"):
        assert role in body["detail"]
    other = await entra_client.get(
        "/api/v1/me", headers=bearer(entra_token(key, roles=["Mail.Read"]))
    )
    assert other.status_code == 403
    assert "holds no role this service knows" in other.json()["detail"]


async def test_a_token_for_a_force_not_registered_is_403(entra_client, session, key):
    await make_force(session)
    token = entra_token(key, **{FORCE_CLAIM: "nowhere"})
    assert (await entra_client.get("/api/v1/me", headers=bearer(token))).status_code == 403


async def test_a_token_for_another_audience_is_401(entra_client, session, key):
    await make_force(session)
    token = entra_token(key, aud="api://graph")
    r = await entra_client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 401 and r.json()["detail"] == "invalid audience"


@pytest.fixture
async def entra_auditor_client(
    settings: Settings, db: Database, jwks: Path
) -> AsyncIterator[httpx.AsyncClient]:
    entra = entra_settings(
        jwks,
        database_url=settings.database_url,
        log_level="WARNING",
        oidc_role_map=ROLE_MAP + ",Registry.Auditor=auditor",
    )
    app = create_app(entra, database=db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize("app_role", ["Registry.Comms", "Registry.PSD", "Registry.Staff"])
async def test_app_roles_that_map_to_auditor_and_a_force_role_are_403(
    entra_auditor_client, session, key, app_role
):
    staffs = await make_force(session)
    await make_force(session, "wmids")
    account = await make_account(session, staffs)
    token = entra_token(key, roles=["Registry.Auditor", app_role], **{FORCE_CLAIM: "wmids"})
    for method, url, kwargs in [
        ("GET", "/api/v1/me", {}),
        ("GET", "/api/v1/audit", {"params": {"force": "staffs"}}),
        ("PATCH", f"/api/v1/accounts/{account.id}", {"json": {"display_name": "Hijacked"}}),
    ]:
        headers = {**bearer(token), "If-Match": "*"}
        r = await entra_auditor_client.request(method, url, headers=headers, **kwargs)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "mixed-roles"
        assert "auditor" in r.json()["detail"] and "separate sign-in" in r.json()["detail"]


async def test_an_admin_app_role_beside_a_force_role_is_admin(entra_auditor_client, session, key):
    staffs = await make_force(session)
    await make_force(session, "wmids")
    account = await make_account(session, staffs)
    token = entra_token(key, roles=["Registry.Admin", "Registry.Comms"], **{FORCE_CLAIM: "wmids"})
    r = await entra_auditor_client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"display_name": "Renamed"},
        headers={**bearer(token), "If-Match": "*"},
    )
    assert r.status_code == 200, r.text
