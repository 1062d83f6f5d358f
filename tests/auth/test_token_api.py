"""Token attacks over HTTP: control characters in identity claims, lifetimes past
REGISTRY_JWT_MAX_TTL, and a signing key the IdP removed from its JWKS."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from app.auth.tokens import TokenVerifier
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.auth.test_tokens import FakeClock, public_jwk, signed, write_jwks
from tests.conftest import TEST_SECRET
from tests.factories import make_force, make_person

ISS = "https://login.example.police.uk/tenant/v2.0"
AUD = "api://registry"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "officer-1",
        "iss": "registry",
        "aud": "registry",
        "iat": now,
        "exp": now + 600,
        "roles": ["comms_admin"],
        "force": "staffs",
    }
    return base | overrides


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": "officer\x001"},
        {"sub": "officer-1\r\nX-Injected: 1"},
        {"sub": "\x1b[31mred"},
        {"roles": ["comms_admin\x00"]},
        {"roles": ["comms_admin", "admin\n"]},
        {"force": "staffs\x00"},
        {"force": "staffs\n"},
    ],
)
async def test_control_characters_in_sub_force_or_roles_are_401(client, session, overrides):
    await make_force(session)
    r = await client.get(
        "/api/v1/people", headers=bearer(jwt.encode(claims(**overrides), TEST_SECRET))
    )
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "\x00" not in r.text


async def test_a_nul_in_sub_never_reaches_the_database_on_a_person_lookup(client, session):
    force = await make_force(session)
    await make_person(session, force, subject="officer")
    token = jwt.encode(claims(sub="officer\x00", roles=["staff"]), TEST_SECRET)
    r = await client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 401
    assert r.json()["detail"] == "invalid subject"


@pytest.mark.parametrize("exp_ahead", [24 * 3600 + 120, 10 * 365 * 86400, 10**30])
async def test_tokens_valid_for_longer_than_the_maximum_are_401(client, session, exp_ahead):
    await make_force(session)
    token = jwt.encode(claims(exp=int(time.time()) + exp_ahead), TEST_SECRET)
    r = await client.get("/api/v1/people", headers=bearer(token))
    assert r.status_code == 401
    assert "token lifetime too long" in r.json()["detail"]


async def test_a_token_within_the_maximum_lifetime_is_accepted(client, session):
    await make_force(session)
    token = jwt.encode(claims(exp=int(time.time()) + 23 * 3600), TEST_SECRET)
    assert (await client.get("/api/v1/people", headers=bearer(token))).status_code == 200


@pytest.fixture
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return tuple(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))


@pytest.fixture
async def oidc_client(
    settings: Settings, db: Database, tmp_path: Path, rsa_keys: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Path, FakeClock]]:
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks, public_jwk(rsa_keys[0], "k1"))
    oidc = settings.model_copy(
        update={
            "auth_mode": "oidc",
            "jwt_issuer": ISS,
            "jwt_audience": AUD,
            "oidc_jwks_file": str(jwks),
            "oidc_jwks_max_age": 60,
        }
    )
    app = create_app(oidc, database=db)
    fake = FakeClock()
    app.state.verifier = TokenVerifier(oidc, clock=fake)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.8", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c, jwks, fake


async def test_a_key_removed_from_the_jwks_file_stops_working_over_http(
    oidc_client, session, rsa_keys
):
    client, jwks, fake = oidc_client
    await make_force(session)
    old = signed(rsa_keys[0], claims(iss=ISS, aud=AUD, exp=int(time.time()) + 3600))
    assert (await client.get("/api/v1/people", headers=bearer(old))).status_code == 200
    jwks.write_text(json.dumps({"keys": [public_jwk(rsa_keys[1], "k2")]}))  # in place
    fake.advance(30)
    assert (await client.get("/api/v1/people", headers=bearer(old))).status_code == 200
    fake.advance(31)
    r = await client.get("/api/v1/people", headers=bearer(old))
    assert r.status_code == 401
    assert r.json()["detail"] == "unknown signing key"
    new = signed(rsa_keys[1], claims(iss=ISS, aud=AUD), kid="k2")
    assert (await client.get("/api/v1/people", headers=bearer(new))).status_code == 200
