"""Token verification (SPEC §3): every rejection is a 401 `Unauthorized`, never a crash."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jws, jwt

from app.auth import tokens
from app.auth.tokens import TokenVerifier, VerifiedToken, mint_token
from app.config import Settings
from app.errors import Unauthorized

SECRET = "test-secret-" + "k" * 40
ISS = "https://idp.example.police.uk"
AUD = "registry-api"
JWKS_URL = "https://idp.example.police.uk/.well-known/jwks.json"
DROP = object()


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class JwksServer:
    """A JWKS endpoint behind httpx.MockTransport that counts fetches."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.requests: list[httpx.Request] = []
        self.respond: Any = None  # replaces the normal answer when set

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        self.requests.append(request)
        await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up
        if self.respond is not None:
            return self.respond(request)
        return httpx.Response(200, json={"keys": self.keys})

    def factory(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


# -- helpers --------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: Any) -> str:
    return b64(json.dumps(obj).encode())


def make_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "officer-1",
        "iss": ISS,
        "aud": AUD,
        "iat": now,
        "exp": now + 600,
        "roles": ["staff"],
        "force": "staffs",
        "name": "A. Officer",
    }
    for key, value in overrides.items():
        if value is DROP:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def hs_token(claims: dict[str, Any], secret: str | bytes = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=alg)


def hmac_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """HS256 by hand: jose refuses PEM/SSH keys as HMAC secrets, an attacker does not."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(sig)}"


def pem_private(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def alg_of(key: Any) -> str:
    return "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"


def public_jwk(key: Any, kid: str | None, **extra: Any) -> dict[str, Any]:
    data = jwk.construct(key.public_key(), alg_of(key)).to_dict()
    if kid is not None:
        data["kid"] = kid
    data["use"] = "sig"
    data.update(extra)
    return data


def signed(key: Any, claims: dict[str, Any], kid: str | None = "k1", alg: str | None = None) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, pem_private(key), algorithm=alg or alg_of(key), headers=headers)


def write_jwks(path: Path, *keys: dict[str, Any]) -> None:
    path.write_text(json.dumps({"keys": list(keys)}))


def hs_settings(**overrides: Any) -> Settings:
    values = {"auth_mode": "hs256", "jwt_secret": SECRET, "jwt_issuer": ISS, "jwt_audience": AUD}
    return Settings(**(values | overrides))


def oidc_settings(**overrides: Any) -> Settings:
    values = {"auth_mode": "oidc", "jwt_issuer": ISS, "jwt_audience": AUD}
    return Settings(**(values | {"oidc_jwks_url": None, "oidc_jwks_file": None} | overrides))


async def assert_rejected(verifier: TokenVerifier, token: Any, detail: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        await verifier.verify(token)
    err = info.value
    assert err.status == 401
    assert detail in err.detail, err.detail
    assert err.headers["WWW-Authenticate"].startswith("Bearer")
    if isinstance(token, str) and len(token) > 8:
        assert token not in err.detail
        assert all(len(p) < 8 or p not in err.detail for p in token.split("."))
    return err


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_key2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def hs() -> TokenVerifier:
    return TokenVerifier(hs_settings())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jwks_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "jwks.json"
    write_jwks(path, public_jwk(rsa_key, "k1"))
    return path


@pytest.fixture
def oidc(jwks_file: Path, clock: FakeClock) -> TokenVerifier:
    return TokenVerifier(oidc_settings(oidc_jwks_file=str(jwks_file)), clock=clock)


# -- hs256 mode: the happy path and mint_token ------------------------------------------------


@pytest.mark.asyncio
async def test_minted_token_verifies_and_keeps_only_known_roles(hs: TokenVerifier) -> None:
    token = mint_token(
        hs_settings(), sub="officer-1", roles=["staff", "wizard"], force="staffs", name="Ann"
    )
    result = await hs.verify(token)
    assert isinstance(result, VerifiedToken)
    assert result.sub == "officer-1"
    assert result.name == "Ann"
    assert result.roles == frozenset({"staff"})
    assert result.force == "staffs"
    assert result.exp == result.claims["exp"]
    assert result.claims["iss"] == ISS and result.claims["aud"] == AUD


@pytest.mark.asyncio
async def test_mint_token_reserved_claims_win_over_extra(hs: TokenVerifier) -> None:
    token = mint_token(
        hs_settings(), sub="a", roles=["admin"], extra={"aud": "evil", "iss": "evil", "x": 1}
    )
    result = await hs.verify(token)
    assert result.claims["x"] == 1
    assert result.force is None


def test_mint_token_refuses_oidc_mode_and_a_missing_secret() -> None:
    with pytest.raises(ValueError, match="hs256"):
        mint_token(oidc_settings(), sub="a", roles=["admin"])
    with pytest.raises(ValueError, match="secret"):
        mint_token(hs_settings(jwt_secret=""), sub="a", roles=["admin"])


@pytest.mark.asyncio
async def test_missing_secret_refuses_every_token() -> None:
    verifier = TokenVerifier(hs_settings(jwt_secret=""))
    await assert_rejected(verifier, hs_token(make_claims(), secret="x"), "signing keys")


# -- algorithm family, checked on the header before any key is touched -----------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["hs256", "oidc"])
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", ""])
async def test_alg_none_is_refused(mode: str, alg: str, tmp_path: Path, rsa_key: Any) -> None:
    path = tmp_path / "jwks.json"
    write_jwks(path, public_jwk(rsa_key, "k1"))
    settings = hs_settings() if mode == "hs256" else oidc_settings(oidc_jwks_file=str(path))
    verifier = TokenVerifier(settings)
    body = f"{segment({'alg': alg, 'typ': 'JWT', 'kid': 'k1'})}.{segment(make_claims())}"
    await assert_rejected(verifier, f"{body}.c2ln", "algorithm not accepted")
    await assert_rejected(verifier, f"{body}.", "malformed")  # the usual empty signature


@pytest.mark.asyncio
async def test_alg_header_missing_or_not_a_string_is_refused(hs: TokenVerifier) -> None:
    for header in ({"typ": "JWT"}, {"alg": ["HS256"]}, {"alg": 256}, {"alg": None}):
        token = f"{segment(header)}.{segment(make_claims())}.c2ln"
        await assert_rejected(hs, token, "algorithm not accepted")


@pytest.mark.asyncio
@pytest.mark.parametrize("alg", ["HS384", "HS512"])
async def test_other_hmac_algorithms_refused_in_hs256_mode(hs: TokenVerifier, alg: str) -> None:
    await assert_rejected(hs, hs_token(make_claims(), alg=alg), "algorithm not accepted")


@pytest.mark.asyncio
async def test_lowercase_alg_is_not_hs256(hs: TokenVerifier) -> None:
    token = hmac_token({"alg": "hs256"}, make_claims(), SECRET.encode())
    await assert_rejected(hs, token, "algorithm not accepted")


@pytest.mark.asyncio
async def test_rs256_token_refused_in_hs256_mode(hs: TokenVerifier, rsa_key: Any) -> None:
    await assert_rejected(hs, signed(rsa_key, make_claims()), "algorithm not accepted")


def public_key_forms(key: rsa.RSAPrivateKey) -> dict[str, bytes]:
    pub = key.public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return {
        "pem": pub.public_bytes(serialization.Encoding.PEM, spki),
        "pem-pkcs1": pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        "der": pub.public_bytes(serialization.Encoding.DER, spki),
        "openssh": pub.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }


@pytest.mark.asyncio
@pytest.mark.parametrize("form", ["pem", "pem-pkcs1", "der", "openssh"])
async def test_hs256_signed_with_the_providers_public_key_is_refused_in_oidc_mode(
    form: str, rsa_key: Any
) -> None:
    server = JwksServer(public_jwk(rsa_key, "k1"))
    verifier = TokenVerifier(
        oidc_settings(oidc_jwks_url=JWKS_URL), http_client_factory=server.factory
    )
    secret = public_key_forms(rsa_key)[form]
    for header in ({"alg": "HS256", "kid": "k1"}, {"alg": "HS256"}):
        token = hmac_token(header, make_claims(), secret)
        await assert_rejected(verifier, token, "algorithm not accepted")
    assert server.fetches == 0  # refused on the header: no key was even looked up


def test_jose_alone_would_accept_a_der_public_key_as_hmac_secret(rsa_key: Any) -> None:
    """Why the header check matters: jose blocks PEM/SSH HMAC secrets, but not DER."""
    der = public_key_forms(rsa_key)["der"]
    token = hmac_token({"alg": "HS256"}, {"sub": "x"}, der)
    assert json.loads(jws.verify(token, der, ["HS256"])) == {"sub": "x"}


@pytest.mark.asyncio
@pytest.mark.parametrize("alg", ["HS256", "HS384", "RS384", "RS512", "PS256", "ES384"])
async def test_only_rs256_and_es256_accepted_in_oidc_mode(
    oidc: TokenVerifier, alg: str, rsa_key: Any
) -> None:
    if alg.startswith("HS"):
        token = hs_token(make_claims(), secret=SECRET, alg=alg)
    elif alg == "PS256":  # jose cannot even sign PS256
        token = hmac_token({"alg": alg, "kid": "k1"}, make_claims(), b"x")
    elif alg == "ES384":
        token = signed(ec.generate_private_key(ec.SECP384R1()), make_claims(), alg=alg)
    else:
        token = signed(rsa_key, make_claims(), alg=alg)
    await assert_rejected(oidc, token, "algorithm not accepted")


@pytest.mark.asyncio
async def test_crit_header_is_refused(hs: TokenVerifier) -> None:
    token = hmac_token({"alg": "HS256", "crit": ["b64"], "b64": False}, make_claims(), b"x")
    await assert_rejected(hs, token, "unsupported token header")


# -- signature and claims -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_bad_signature_is_refused(hs: TokenVerifier) -> None:
    await assert_rejected(hs, hs_token(make_claims(), secret="another-" + SECRET), "signature")
    header, payload, sig = hs_token(make_claims()).split(".")
    forged = segment(make_claims(roles=["admin"]))
    await assert_rejected(hs, f"{header}.{forged}.{sig}", "invalid signature")
    await assert_rejected(hs, f"{header}.{payload}.{sig[:-4]}", "invalid signature")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("exp_offset", "accepted"), [(600, True), (-20, True), (-45, False), (-3600, False)]
)
async def test_expiry_with_30_second_leeway(exp_offset: int, accepted: bool) -> None:
    clock = FakeClock()
    verifier = TokenVerifier(hs_settings(), clock=clock)
    token = hs_token(make_claims(exp=int(clock.now) + exp_offset))
    if accepted:
        assert (await verifier.verify(token)).sub == "officer-1"
    else:
        await assert_rejected(verifier, token, "expired")


@pytest.mark.asyncio
async def test_expiry_uses_the_injected_clock() -> None:
    clock = FakeClock()
    verifier = TokenVerifier(hs_settings(), clock=clock)
    token = hs_token(make_claims())
    clock.advance(600 + 31)  # jose (wall clock) would still accept it
    await assert_rejected(verifier, token, "expired")


@pytest.mark.asyncio
async def test_not_before_and_issued_at_in_the_future(hs: TokenVerifier) -> None:
    now = int(time.time())
    await assert_rejected(hs, hs_token(make_claims(nbf=now + 120)), "not yet valid")
    assert await hs.verify(hs_token(make_claims(nbf=now + 20)))
    await assert_rejected(hs, hs_token(make_claims(iat=now + 600)), "issued in the future")
    assert await hs.verify(hs_token(make_claims(iat=now + 20)))


@pytest.mark.asyncio
@pytest.mark.parametrize("claim", ["exp", "sub", "aud", "iss"])
async def test_each_required_claim_is_required(hs: TokenVerifier, claim: str) -> None:
    await assert_rejected(hs, hs_token(make_claims(**{claim: DROP})), f"missing claim: {claim}")


@pytest.mark.asyncio
async def test_audience_must_match(hs: TokenVerifier) -> None:
    await assert_rejected(hs, hs_token(make_claims(aud="other-api")), "invalid audience")
    await assert_rejected(hs, hs_token(make_claims(aud=["other", "x"])), "invalid audience")
    await assert_rejected(hs, hs_token(make_claims(aud=[])), "invalid audience")
    await assert_rejected(hs, hs_token(make_claims(aud=7)), "invalid")
    assert await hs.verify(hs_token(make_claims(aud=["other", AUD])))


@pytest.mark.asyncio
async def test_issuer_must_match(hs: TokenVerifier) -> None:
    await assert_rejected(hs, hs_token(make_claims(iss="https://evil.example")), "invalid issuer")
    await assert_rejected(hs, hs_token(make_claims(iss=[ISS])), "invalid issuer")


@pytest.mark.asyncio
@pytest.mark.parametrize("roles", ["staff", {"staff": True}, [1], ["staff", None]])
async def test_roles_must_be_a_list_of_strings(hs: TokenVerifier, roles: Any) -> None:
    await assert_rejected(hs, hs_token(make_claims(roles=roles)), "invalid roles claim")


@pytest.mark.asyncio
@pytest.mark.parametrize("roles", [DROP, None])
async def test_no_roles_claim_means_no_role_and_says_so(hs: TokenVerifier, roles: Any) -> None:
    # Entra ID leaves `roles` out of the token of a user with no app role.
    result = await hs.verify(hs_token(make_claims(roles=roles)))
    assert result.roles == frozenset()
    assert result.missing_role is not None and "no `roles` claim" in result.missing_role


@pytest.mark.asyncio
async def test_unknown_roles_are_dropped_and_left_for_the_route_layer(hs: TokenVerifier) -> None:
    result = await hs.verify(hs_token(make_claims(roles=["superuser"], force=DROP)))
    assert result.roles == frozenset()
    result = await hs.verify(hs_token(make_claims(roles=[])))
    assert result.roles == frozenset() and result.force == "staffs"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("roles", "ok"),
    [
        (["admin"], True),
        (["auditor"], True),
        (["admin", "auditor", "unknown"], True),
        (["staff"], False),
        (["collector"], False),
        (["comms_admin"], False),
        (["psd"], False),
        (["admin", "staff"], False),
    ],
)
async def test_force_required_unless_every_role_is_national(
    hs: TokenVerifier, roles: list[str], ok: bool
) -> None:
    token = hs_token(make_claims(roles=roles, force=DROP))
    if ok:
        result = await hs.verify(token)
        assert result.force is None and result.roles == frozenset(roles) & tokens.KNOWN_ROLES
    else:
        await assert_rejected(hs, token, "missing force claim")


@pytest.mark.asyncio
@pytest.mark.parametrize("force", [42, "", ["staffs"], "Staffs Police", "x" * 100])
async def test_force_must_be_a_slug(hs: TokenVerifier, force: Any) -> None:
    await assert_rejected(hs, hs_token(make_claims(force=force)), "invalid force claim")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": "9999999999"},
        {"exp": [1]},
        {"exp": True},
        {"exp": float("inf")},
        {"exp": None},
        {"nbf": {"a": 1}},
        {"nbf": "soon"},
        {"iat": [1]},
        {"sub": 42},
        {"sub": ""},
        {"sub": None},
    ],
)
async def test_odd_claim_types_are_401_not_500(hs: TokenVerifier, overrides: dict) -> None:
    await assert_rejected(hs, hs_token(make_claims(**overrides)), "")


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", [b"[1]", b"null", b"not json", b"\xff\xfe"])
async def test_payload_not_a_json_object(hs: TokenVerifier, payload: bytes) -> None:
    token = jws.sign(payload, SECRET, algorithm="HS256")
    await assert_rejected(hs, token, "invalid token")


# -- shape: refused fast, before any crypto ---------------------------------------------------


@pytest.fixture
def no_crypto(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("crypto must not run for this token")

    monkeypatch.setattr(tokens.jwt, "decode", boom)


@pytest.mark.asyncio
async def test_jwe_is_refused(hs: TokenVerifier, no_crypto: None) -> None:
    header = segment({"alg": "dir", "enc": "A256GCM"})
    await assert_rejected(hs, f"{header}..aXY.Y2lwaGVy.dGFn", "encrypted tokens")
    await assert_rejected(hs, f"{header}.a2V5.aXY.Y2lwaGVy.dGFn", "encrypted tokens")


@pytest.mark.asyncio
async def test_oversized_token_is_refused(hs: TokenVerifier, no_crypto: None) -> None:
    token = hs_token(make_claims(padding="x" * 9000))
    await assert_rejected(hs, token, "token too large")
    await assert_rejected(hs, "a" * 10_000_000, "token too large")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c",
        "...",
        "a..c",
        "a.b.c.d",
        "é.b.c",
        "Bearer abc.def.ghi",
        " eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
        "eyJhbGciOiJIUzI1NiJ9=.e30.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.e30.c2ln\n",
        f"{b64(b'not json')}.e30.c2ln",
        f"{b64(b'[1, 2]')}.e30.c2ln",
        f"{b64(b'null')}.e30.c2ln",
        f"{b64(bytes([0xFF, 0xFE]))}.e30.c2ln",
        "e.e30.c2ln",  # a single base64 character cannot be decoded
    ],
)
async def test_garbage_is_refused(hs: TokenVerifier, token: str, no_crypto: None) -> None:
    await assert_rejected(hs, token, "")


@pytest.mark.asyncio
@pytest.mark.parametrize("token", [None, b"abc.def.ghi", 42])
async def test_non_string_tokens_are_refused(hs: TokenVerifier, token: Any) -> None:
    await assert_rejected(hs, token, "missing token")


# -- oidc mode: JWKS, kid, rotation ---------------------------------------------------------


@pytest.mark.asyncio
async def test_rs256_and_es256_from_a_jwks_file(
    tmp_path: Path, rsa_key: Any, ec_key: Any, clock: FakeClock
) -> None:
    path = tmp_path / "jwks.json"
    write_jwks(path, public_jwk(rsa_key, "r1"), public_jwk(ec_key, "e1"))
    verifier = TokenVerifier(oidc_settings(oidc_jwks_file=str(path)), clock=clock)
    assert (await verifier.verify(signed(rsa_key, make_claims(), kid="r1"))).sub == "officer-1"
    result = await verifier.verify(signed(ec_key, make_claims(sub="o2"), kid="e1"))
    assert result.sub == "o2" and result.roles == frozenset({"staff"})


@pytest.mark.asyncio
async def test_wrong_key_or_kid_for_the_alg(oidc: TokenVerifier, rsa_key2: Any) -> None:
    await assert_rejected(oidc, signed(rsa_key2, make_claims(), kid="k1"), "invalid signature")
    await assert_rejected(oidc, signed(rsa_key2, make_claims(), kid="nope"), "unknown signing key")
    ec_token = signed(ec.generate_private_key(ec.SECP256R1()), make_claims(), kid="k1")
    await assert_rejected(oidc, ec_token, "unknown signing key")  # k1 is an RSA key
    bad_kid = f"{segment({'alg': 'RS256', 'kid': 7})}.{segment(make_claims())}.c2ln"
    await assert_rejected(oidc, bad_kid, "malformed token header")


@pytest.mark.asyncio
async def test_claims_are_checked_in_oidc_mode_too(oidc: TokenVerifier, rsa_key: Any) -> None:
    await assert_rejected(oidc, signed(rsa_key, make_claims(aud=DROP)), "missing claim: aud")
    await assert_rejected(oidc, signed(rsa_key, make_claims(iss="x")), "invalid issuer")
    old = int(time.time()) - 3600
    await assert_rejected(oidc, signed(rsa_key, make_claims(exp=old)), "expired")


@pytest.mark.asyncio
async def test_token_without_kid_needs_exactly_one_key_of_its_type(
    tmp_path: Path, rsa_key: Any, rsa_key2: Any, ec_key: Any
) -> None:
    path = tmp_path / "jwks.json"
    write_jwks(path, public_jwk(rsa_key, "r1"), public_jwk(ec_key, "e1"))
    verifier = TokenVerifier(oidc_settings(oidc_jwks_file=str(path)), clock=FakeClock())
    assert await verifier.verify(signed(rsa_key, make_claims(), kid=None))
    assert await verifier.verify(signed(ec_key, make_claims(), kid=None))

    write_jwks(path, public_jwk(rsa_key, "r1"), public_jwk(rsa_key2, "r2"))
    verifier = TokenVerifier(oidc_settings(oidc_jwks_file=str(path)), clock=FakeClock())
    await assert_rejected(verifier, signed(rsa_key, make_claims(), kid=None), "unknown signing")


@pytest.mark.asyncio
async def test_unusable_jwks_entries_are_ignored(tmp_path: Path, rsa_key: Any) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p384 = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "jwks.json"
    entries: list[Any] = [
        public_jwk(rsa_key, "enc", use="enc"),
        public_jwk(rsa_key, "rs384", alg="RS384"),
        public_jwk(rsa_key, "hs", alg="HS256"),
        public_jwk(rsa_key, "ops", key_ops=["encrypt"]),
        public_jwk(small, "small"),
        {"kty": "oct", "kid": "oct", "k": b64(b"secret")},
        {"kty": "EC", "kid": "bad-ec", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": "broken"},
        "not a key",
    ]
    write_jwks(path, *entries)
    verifier = TokenVerifier(oidc_settings(oidc_jwks_file=str(path)), clock=FakeClock())
    for kid, key in [("enc", rsa_key), ("rs384", rsa_key), ("ops", rsa_key), ("small", small)]:
        await assert_rejected(verifier, signed(key, make_claims(), kid=kid), "unknown signing key")
    p384_jwk = jwk.construct(p384.public_key(), "ES384").to_dict() | {"kid": "p384"}
    write_jwks(path, p384_jwk, public_jwk(rsa_key, "ok", key_ops=["verify"]))
    verifier = TokenVerifier(oidc_settings(oidc_jwks_file=str(path)), clock=FakeClock())
    assert await verifier.verify(signed(rsa_key, make_claims(), kid="ok"))
    # a P-384 key is no ES256 key, even with an ES256 header
    token = hmac_token({"alg": "ES256", "kid": "p384"}, make_claims(), b"x")
    await assert_rejected(verifier, token, "unknown signing key")


@pytest.mark.asyncio
async def test_new_key_in_the_jwks_file_is_picked_up_without_restart(
    oidc: TokenVerifier, jwks_file: Path, clock: FakeClock, rsa_key: Any, rsa_key2: Any
) -> None:
    assert await oidc.verify(signed(rsa_key, make_claims()))
    write_jwks(jwks_file, public_jwk(rsa_key, "k1"), public_jwk(rsa_key2, "k2"))
    new_token = signed(rsa_key2, make_claims(sub="rotated"), kid="k2")
    clock.advance(5)  # the last fetch was 5 s ago: no refresh yet
    await assert_rejected(oidc, new_token, "unknown signing key")
    clock.advance(60)
    assert (await oidc.verify(new_token)).sub == "rotated"


@pytest.mark.asyncio
async def test_unknown_kid_refreshes_at_most_once_a_minute(
    rsa_key: Any, rsa_key2: Any, clock: FakeClock
) -> None:
    server = JwksServer(public_jwk(rsa_key, "k1"))
    settings = oidc_settings(oidc_jwks_url=JWKS_URL)
    verifier = TokenVerifier(settings, http_client_factory=server.factory, clock=clock)
    assert await verifier.verify(signed(rsa_key, make_claims()))
    assert server.fetches == 1
    unknown = signed(rsa_key2, make_claims(), kid="k2")
    for _ in range(10):
        clock.advance(5)
        await assert_rejected(verifier, unknown, "unknown signing key")
    assert server.fetches == 1
    clock.advance(11)  # 61 s after the first fetch
    await assert_rejected(verifier, unknown, "unknown signing key")
    assert server.fetches == 2
    server.keys.append(public_jwk(rsa_key2, "k2"))
    clock.advance(30)
    await assert_rejected(verifier, unknown, "unknown signing key")
    assert server.fetches == 2
    clock.advance(31)
    assert await verifier.verify(unknown)
    assert server.fetches == 3
    assert str(server.requests[0].url) == JWKS_URL
    assert server.requests[0].extensions["timeout"]["read"] == 5.0


@pytest.mark.asyncio
async def test_concurrent_unknown_kids_trigger_one_fetch(
    rsa_key: Any, rsa_key2: Any, clock: FakeClock
) -> None:
    server = JwksServer(public_jwk(rsa_key, "k1"))
    settings = oidc_settings(oidc_jwks_url=JWKS_URL)
    verifier = TokenVerifier(settings, http_client_factory=server.factory, clock=clock)
    first = [signed(rsa_key, make_claims(sub=f"u{i}")) for i in range(20)]
    results = await asyncio.gather(*(verifier.verify(t) for t in first))
    assert [r.sub for r in results] == [f"u{i}" for i in range(20)]
    assert server.fetches == 1  # the first load is shared too

    clock.advance(61)
    unknown = [signed(rsa_key2, make_claims(sub=f"u{i}"), kid=f"x{i}") for i in range(20)]
    outcomes = await asyncio.gather(*(verifier.verify(t) for t in unknown), return_exceptions=True)
    assert all(isinstance(o, Unauthorized) for o in outcomes)
    assert server.fetches == 2


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "respond",
    [
        refuse_connection,
        time_out,
        lambda r: httpx.Response(503, text="down"),
        lambda r: httpx.Response(200, text="<html>not json</html>"),
        lambda r: httpx.Response(200, json=[1, 2]),
        lambda r: httpx.Response(200, json={"keys": "nope"}),
        lambda r: httpx.Response(200, content=b"{" * (2 * 1024 * 1024)),
    ],
)
async def test_jwks_unavailable_is_401(respond: Any, rsa_key: Any, clock: FakeClock) -> None:
    server = JwksServer(public_jwk(rsa_key, "k1"))
    server.respond = respond
    settings = oidc_settings(oidc_jwks_url=JWKS_URL)
    verifier = TokenVerifier(settings, http_client_factory=server.factory, clock=clock)
    await assert_rejected(verifier, signed(rsa_key, make_claims()), "signing keys unavailable")
    assert server.fetches == 1
    await assert_rejected(verifier, signed(rsa_key, make_claims()), "signing keys unavailable")
    assert server.fetches == 1  # a failed fetch counts towards the once-a-minute limit


@pytest.mark.asyncio
async def test_empty_jwks_means_no_key_matches(rsa_key: Any) -> None:
    server = JwksServer()
    settings = oidc_settings(oidc_jwks_url=JWKS_URL)
    verifier = TokenVerifier(settings, http_client_factory=server.factory, clock=FakeClock())
    await assert_rejected(verifier, signed(rsa_key, make_claims()), "unknown signing key")


@pytest.mark.asyncio
async def test_jwks_file_missing_or_no_source_is_401(tmp_path: Path, rsa_key: Any) -> None:
    token = signed(rsa_key, make_claims())
    missing = oidc_settings(oidc_jwks_file=str(tmp_path / "absent.json"))
    await assert_rejected(TokenVerifier(missing), token, "signing keys unavailable")
    await assert_rejected(TokenVerifier(oidc_settings()), token, "signing keys unavailable")
    (tmp_path / "bad.json").write_text("{not json")
    bad = oidc_settings(oidc_jwks_file=str(tmp_path / "bad.json"))
    await assert_rejected(TokenVerifier(bad), token, "signing keys unavailable")


@pytest.mark.asyncio
async def test_failed_refresh_keeps_the_keys_it_had(
    rsa_key: Any, rsa_key2: Any, clock: FakeClock
) -> None:
    server = JwksServer(public_jwk(rsa_key, "k1"))
    settings = oidc_settings(oidc_jwks_url=JWKS_URL)
    verifier = TokenVerifier(settings, http_client_factory=server.factory, clock=clock)
    assert await verifier.verify(signed(rsa_key, make_claims()))
    server.respond = refuse_connection
    clock.advance(61)
    unknown = signed(rsa_key2, make_claims(), kid="k2")
    await assert_rejected(verifier, unknown, "signing keys unavailable")
    assert server.fetches == 2
    assert await verifier.verify(signed(rsa_key, make_claims(sub="still-ok")))


# -- the cache ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_cache_returns_the_same_result_without_crypto(
    hs: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real_decode = tokens.jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counting_decode)
    token = hs_token(make_claims())
    first = await hs.verify(token)
    assert await hs.verify(token) is first
    assert len(calls) == 1
    assert calls[0]["algorithms"] == ["HS256"]
    assert calls[0]["issuer"] == ISS
    assert {"require_exp", "require_sub", "require_iss"} <= {
        k for k, v in calls[0]["options"].items() if v is True
    }
    assert calls[0]["options"]["verify_aud"] is False  # checked by the verifier, every audience
    assert calls[0]["options"]["leeway"] == 30
    hs.clear_cache()
    assert await hs.verify(token) is not first
    assert len(calls) == 2


@pytest.mark.asyncio
async def test_cache_is_cleared_when_the_signing_keys_change(
    oidc: TokenVerifier, jwks_file: Path, clock: FakeClock, rsa_key: Any, rsa_key2: Any
) -> None:
    old_token = signed(rsa_key, make_claims())
    first = await oidc.verify(old_token)
    assert await oidc.verify(old_token) is first

    clock.advance(61)  # a refresh that finds the same keys keeps the cache
    await assert_rejected(oidc, signed(rsa_key2, make_claims(), kid="k9"), "unknown signing key")
    assert await oidc.verify(old_token) is first

    write_jwks(jwks_file, public_jwk(rsa_key, "k1"), public_jwk(rsa_key2, "k2"))
    clock.advance(61)
    assert await oidc.verify(signed(rsa_key2, make_claims(), kid="k2"))
    again = await oidc.verify(old_token)
    assert again is not first and again == first


@pytest.mark.asyncio
async def test_a_removed_key_stops_working_even_for_cached_tokens(
    oidc: TokenVerifier, jwks_file: Path, clock: FakeClock, rsa_key: Any, rsa_key2: Any
) -> None:
    old_token = signed(rsa_key, make_claims())
    assert await oidc.verify(old_token)
    write_jwks(jwks_file, public_jwk(rsa_key2, "k2"))
    clock.advance(61)
    assert await oidc.verify(signed(rsa_key2, make_claims(), kid="k2"))
    await assert_rejected(oidc, old_token, "unknown signing key")


@pytest.mark.asyncio
async def test_an_expired_cached_token_is_rejected(clock: FakeClock) -> None:
    verifier = TokenVerifier(hs_settings(), clock=clock)
    token = hs_token(make_claims(exp=int(clock.now) + 100))
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first
    clock.advance(110)  # past exp, inside the leeway: verified afresh, never from the cache
    again = await verifier.verify(token)
    assert again is not first
    assert await verifier.verify(token) is not again  # and not cached either
    clock.advance(30)
    await assert_rejected(verifier, token, "token has expired")
    await assert_rejected(verifier, token, "token has expired")


@pytest.mark.asyncio
async def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.setattr(tokens, "CACHE_MAX_ENTRIES", 3)
    verifier = TokenVerifier(hs_settings(), clock=clock)
    issued = [hs_token(make_claims(sub=f"u{i}")) for i in range(6)]
    results = [await verifier.verify(t) for t in issued]
    assert [await verifier.verify(t) for t in issued[-2:]] == results[-2:]
    assert len(verifier._cache) <= 3


# -- control characters and lifetimes (REGISTRY_JWT_MAX_TTL) ---------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("char", ["\x00", "\n", "\r", "\x1b", "\x7f", "\x85", "\u2028"])
@pytest.mark.parametrize("claim", ["sub", "roles", "force"])
async def test_control_characters_in_identity_claims_are_401(
    hs: TokenVerifier, claim: str, char: str
) -> None:
    value: Any = {"sub": f"officer{char}1", "roles": [f"staff{char}"], "force": f"staffs{char}"}
    detail = {"sub": "invalid subject", "roles": "invalid roles claim", "force": "invalid force"}
    await assert_rejected(hs, hs_token(make_claims(**{claim: value[claim]})), detail[claim])


@pytest.mark.asyncio
async def test_control_characters_in_the_display_name_drop_it(hs: TokenVerifier) -> None:
    verified = await hs.verify(hs_token(make_claims(name="A.\nOfficer")))
    assert verified.name is None and verified.sub == "officer-1"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("exp_offset", "accepted"),
    [(24 * 3600, True), (24 * 3600 + 30, True), (24 * 3600 + 31, False), (10**30, False)],
)
async def test_tokens_valid_longer_than_the_maximum_lifetime_are_401(
    clock: FakeClock, exp_offset: int, accepted: bool
) -> None:
    verifier = TokenVerifier(hs_settings(), clock=clock)
    token = hs_token(make_claims(iat=int(clock.now), exp=int(clock.now) + exp_offset))
    if accepted:
        assert await verifier.verify(token)
    else:
        await assert_rejected(verifier, token, "token lifetime too long")


@pytest.mark.asyncio
async def test_the_maximum_lifetime_is_configurable(clock: FakeClock) -> None:
    verifier = TokenVerifier(hs_settings(jwt_max_ttl=3600), clock=clock)
    await assert_rejected(
        verifier, hs_token(make_claims(exp=int(clock.now) + 7200)), "expire within 3600 s"
    )
    assert await verifier.verify(hs_token(make_claims(exp=int(clock.now) + 3000)))


def test_mint_token_refuses_a_lifetime_past_the_maximum() -> None:
    with pytest.raises(ValueError, match="REGISTRY_JWT_MAX_TTL"):
        mint_token(hs_settings(), sub="x", roles=["admin"], ttl=24 * 3600 + 1)
    assert mint_token(hs_settings(), sub="x", roles=["admin"], ttl=24 * 3600)


# -- key lifetimes (REGISTRY_OIDC_JWKS_MAX_AGE) -------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("public, max-age=120", 120.0),
        ('max-age="45", must-revalidate', 45.0),
        ("MAX-AGE=7", 7.0),
        ("no-store", 0.0),
        ("private, no-cache", 0.0),
        ("s-maxage=30", None),
        ("max-age=abc", None),
    ],
)
def test_cache_control_max_age(header: str | None, expected: float | None) -> None:
    assert tokens.cache_control_max_age(header) == expected


@pytest.mark.asyncio
async def test_a_key_removed_from_the_jwks_file_stops_working_after_the_max_age(
    jwks_file: Path, clock: FakeClock, rsa_key: Any, rsa_key2: Any
) -> None:
    verifier = TokenVerifier(
        oidc_settings(oidc_jwks_file=str(jwks_file), oidc_jwks_max_age=120), clock=clock
    )
    old_token = signed(rsa_key, make_claims(exp=int(clock.now) + 3600))
    assert await verifier.verify(old_token)
    # The IdP drops k1 (compromised) and publishes k2 in its place: the file is replaced.
    write_jwks(jwks_file, public_jwk(rsa_key2, "k2"))
    clock.advance(119)
    assert await verifier.verify(old_token)  # within the max age: the keys fetched are trusted
    clock.advance(2)
    # No unknown kid comes along to trigger a refresh: the max age alone retires k1.
    await assert_rejected(verifier, old_token, "unknown signing key")
    assert await verifier.verify(signed(rsa_key2, make_claims(), kid="k2"))


@pytest.mark.asyncio
async def test_the_default_max_age_is_300_seconds(
    oidc: TokenVerifier, jwks_file: Path, clock: FakeClock, rsa_key: Any, rsa_key2: Any
) -> None:
    old_token = signed(rsa_key, make_claims(exp=int(clock.now) + 3600))
    assert await oidc.verify(old_token)
    write_jwks(jwks_file, public_jwk(rsa_key2, "k2"))
    clock.advance(299)
    assert await oidc.verify(old_token)
    clock.advance(2)
    await assert_rejected(oidc, old_token, "unknown signing key")


class RealJwksServer:
    """A JWKS endpoint on a real local HTTP server (a thread), with settable headers."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.body = b'{"keys": []}'
        self.cache_control: str | None = None
        self.fetches = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                if owner.cache_control is not None:
                    self.send_header("Cache-Control", owner.cache_control)
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, *keys: dict[str, Any]) -> None:
        self.body = json.dumps({"keys": list(keys)}).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def real_jwks() -> Any:
    server = RealJwksServer()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.asyncio
async def test_jwks_url_cache_control_shortens_the_max_age(
    real_jwks: RealJwksServer, clock: FakeClock, rsa_key: Any, rsa_key2: Any
) -> None:
    real_jwks.publish(public_jwk(rsa_key, "k1"))
    real_jwks.cache_control = "public, max-age=20"
    verifier = TokenVerifier(oidc_settings(oidc_jwks_url=real_jwks.url), clock=clock)
    old_token = signed(rsa_key, make_claims(exp=int(clock.now) + 3600))
    assert await verifier.verify(old_token)
    assert real_jwks.fetches == 1
    real_jwks.publish(public_jwk(rsa_key2, "k2"))
    clock.advance(19)
    assert await verifier.verify(old_token)
    assert real_jwks.fetches == 1
    clock.advance(2)
    await assert_rejected(verifier, old_token, "unknown signing key")
    assert real_jwks.fetches == 2
    assert await verifier.verify(signed(rsa_key2, make_claims(), kid="k2"))
    assert real_jwks.fetches == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("cache_control", "refetch_after"),
    [("max-age=3600", 300), (None, 300), ("no-store", 5), ("max-age=0", 5)],
)
async def test_cache_control_never_lengthens_the_max_age_nor_goes_below_the_floor(
    real_jwks: RealJwksServer,
    clock: FakeClock,
    rsa_key: Any,
    cache_control: Any,
    refetch_after: int,
) -> None:
    real_jwks.publish(public_jwk(rsa_key, "k1"))
    real_jwks.cache_control = cache_control
    verifier = TokenVerifier(oidc_settings(oidc_jwks_url=real_jwks.url), clock=clock)
    assert await verifier.verify(signed(rsa_key, make_claims(sub="a")))
    clock.advance(refetch_after - 1)
    assert await verifier.verify(signed(rsa_key, make_claims(sub="b")))
    assert real_jwks.fetches == 1
    clock.advance(1)
    assert await verifier.verify(signed(rsa_key, make_claims(sub="c")))
    assert real_jwks.fetches == 2


@pytest.mark.asyncio
async def test_unknown_kids_against_a_real_jwks_url_refresh_once_a_minute(
    real_jwks: RealJwksServer, clock: FakeClock, rsa_key: Any, rsa_key2: Any
) -> None:
    real_jwks.publish(public_jwk(rsa_key, "k1"))
    verifier = TokenVerifier(oidc_settings(oidc_jwks_url=real_jwks.url), clock=clock)
    assert await verifier.verify(signed(rsa_key, make_claims()))
    for i in range(30):
        clock.advance(1)
        await assert_rejected(
            verifier, signed(rsa_key2, make_claims(), kid=f"x{i}"), "unknown signing key"
        )
    assert real_jwks.fetches == 1
    clock.advance(30)
    await assert_rejected(verifier, signed(rsa_key2, make_claims(), kid="y"), "unknown signing key")
    assert real_jwks.fetches == 2


@pytest.mark.asyncio
async def test_an_unreachable_jwks_at_refresh_keeps_the_keys_and_retries_within_a_minute(
    real_jwks: RealJwksServer, clock: FakeClock, rsa_key: Any
) -> None:
    real_jwks.publish(public_jwk(rsa_key, "k1"))
    verifier = TokenVerifier(oidc_settings(oidc_jwks_url=real_jwks.url), clock=clock)
    token = signed(rsa_key, make_claims(exp=int(clock.now) + 3600))
    assert await verifier.verify(token)
    real_jwks.body = b"<html>maintenance</html>"
    clock.advance(301)
    assert await verifier.verify(token)
    assert real_jwks.fetches == 2
    clock.advance(30)
    assert await verifier.verify(token)
    assert real_jwks.fetches == 2  # no fetch per request while the IdP is down
    clock.advance(31)
    assert await verifier.verify(token)
    assert real_jwks.fetches == 3
