"""Bearer-token verification (SPEC §3): HS256 with a shared secret, or RS256/ES256 via JWKS."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from jose import jwk, jwt
from jose.exceptions import ExpiredSignatureError

from app.auth.principal import FORCE_ROLES, NATIONAL_ROLES
from app.config import Settings
from app.errors import Unauthorized

log = logging.getLogger("app.auth")

KNOWN_ROLES = NATIONAL_ROLES | FORCE_ROLES

MAX_TOKEN_CHARS = 8 * 1024
LEEWAY = 30  # seconds, on exp / nbf / iat
JWKS_MIN_REFRESH_INTERVAL = 60.0  # seconds between fetches an unknown `kid` may trigger
JWKS_MIN_MAX_AGE = 5.0  # a Cache-Control max-age shortens the refresh period, never below this
JWKS_TIMEOUT = 5.0
JWKS_MAX_BYTES = 1024 * 1024
CACHE_MAX_ENTRIES = 10_000
MIN_RSA_BITS = 2048
HS256_ALGS = frozenset({"HS256"})
OIDC_ALGS = frozenset({"RS256", "ES256"})
REQUIRED_CLAIMS = ("exp", "sub", "aud", "iss")
# jose only enforces what it is told: without require_aud a token with no `aud` passes.
# The audience is required and checked here, against every configured one: jose takes
# only one, and its require_aud turns its own single-audience check back on.
JOSE_OPTIONS = {f"require_{c}": True for c in REQUIRED_CLAIMS} | {
    "require_iat": False,
    "require_aud": False,
    "verify_aud": False,
    "leeway": LEEWAY,
}
_JOSE_DETAILS = {
    "Signature verification failed": "invalid signature",
    **{f'required key "{c}"': f"missing claim: {c}" for c in REQUIRED_CLAIMS},
    "Invalid audience": "invalid audience",
    "Invalid issuer": "invalid issuer",
    "(nbf)": "token not yet valid",
    "Subject must be": "invalid subject",
}
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_FORCE_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# C0 and C1 control characters and the Unicode line/paragraph separators: never part of
# an identity (a NUL in `sub` broke PostgreSQL; a newline forges log lines).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$|=)", re.IGNORECASE)


@dataclass(frozen=True)
class VerifiedToken:
    sub: str
    name: str | None
    roles: frozenset[str]  # only known roles are kept; may be empty (the route layer 403s)
    force: str | None
    exp: int
    claims: dict[str, Any] = field(hash=False, repr=False)
    # Why `roles` is empty, naming what the token lacks (for the 403 the route layer gives).
    missing_role: str | None = field(default=None, hash=False)


class ClaimMapping:
    """How a token's claims become our subject, roles and force: the defaults (`sub`,
    `roles` holding our role names, `force`), or in oidc mode the provider's own
    (REGISTRY_OIDC_SUBJECT_CLAIM, _ROLE_MAP, _FORCE_CLAIM, _FORCE), as Entra ID issues them."""

    def __init__(self, settings: Settings) -> None:
        oidc = settings.auth_mode == "oidc"
        self.subject_claim = settings.oidc_subject_claim if oidc else "sub"
        self.force_claim = settings.oidc_force_claim if oidc else "force"
        self.fixed_force = settings.oidc_force if oidc else None
        self.role_map = dict(settings.oidc_role_map) if oidc else {}

    def roles(self, values: list[str]) -> frozenset[str]:
        if self.role_map:  # unmapped values (other apps' roles, our bare names) are ignored
            return frozenset(self.role_map[v] for v in values if v in self.role_map)
        return frozenset(values) & KNOWN_ROLES

    def missing_role(self, values: list[str] | None) -> str:
        if self.role_map:
            wanted = ", ".join(sorted(self.role_map))
            need = f"one of the app roles {wanted} (REGISTRY_OIDC_ROLE_MAP)"
        else:
            need = f"one of the roles {', '.join(sorted(KNOWN_ROLES))}"
        if values is None:
            return f"The token has no `roles` claim: it needs {need}. Assign the user an app role."
        return f"The token's `roles` claim holds no role this service knows: it needs {need}."


@dataclass(frozen=True)
class _SigningKey:
    kid: str | None
    alg: str
    key: Any  # a jose Key
    fingerprint: str


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def cache_control_max_age(header: str | None) -> float | None:
    """The freshness lifetime a Cache-Control header gives, in seconds (None: it gives none).
    `no-cache` / `no-store` mean "fetch again": 0."""
    if not header:
        return None
    if _NO_CACHE.search(header):
        return 0.0
    found = _MAX_AGE.search(header)
    return float(found.group(1)) if found else None


def _construct(data: Any, alg: str) -> Any:
    try:  # a jose Key object: jose never gets to parse key material (or a secret) as a JWK
        key = jwk.construct(data, alg)
        # jose types construct() as the base Key; an RS256 one is its cryptography RSA key,
        # which holds the parsed key as prepared_key.
        if alg == "RS256" and key.prepared_key.key_size < MIN_RSA_BITS:  # type: ignore[attr-defined]
            return None
    except Exception:  # a malformed JWKS entry is skipped, not fatal
        return None
    return key


def _parse_jwks(raw: bytes, allowed: frozenset[str]) -> list[_SigningKey]:
    """Usable public signing keys of the JWKS; unusable entries are skipped, not fatal."""
    if len(raw) > JWKS_MAX_BYTES:
        raise ValueError("JWKS too large")
    doc = json.loads(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise TypeError("not a JWKS")
    keys: list[_SigningKey] = []
    for entry in doc["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        ops = entry.get("key_ops")
        if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
            continue
        kid = entry.get("kid")
        if kid is not None and not isinstance(kid, str):
            continue
        if entry.get("kty") == "RSA":
            alg, public = "RS256", {k: entry.get(k) for k in ("kty", "n", "e")}
        elif entry.get("kty") == "EC" and entry.get("crv") == "P-256":
            alg, public = "ES256", {k: entry.get(k) for k in ("kty", "crv", "x", "y")}
        else:
            continue
        if alg not in allowed or entry.get("alg", alg) != alg:
            continue
        key = _construct(public, alg)  # public parameters only: never a leaked private JWK
        if key is None:
            continue
        fingerprint = json.dumps([kid, alg, public], sort_keys=True)
        keys.append(_SigningKey(kid, alg, key, fingerprint))
    return keys


class TokenVerifier:
    """Verifies bearer tokens; `verify` raises only `Unauthorized`.

    `http_client_factory` must return a fresh `httpx.AsyncClient` (it is closed after each
    JWKS fetch); `clock` returns epoch seconds and drives expiry, caching and refresh limits.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        http_client_factory: Callable[[], httpx.AsyncClient] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._client_factory = http_client_factory or (
            lambda: httpx.AsyncClient(timeout=JWKS_TIMEOUT)
        )
        self._allowed = HS256_ALGS if settings.auth_mode == "hs256" else OIDC_ALGS
        self._mapping = ClaimMapping(settings)
        self._cache: dict[bytes, VerifiedToken] = {}
        secret = settings.effective_jwt_secret if settings.auth_mode == "hs256" else ""
        self._hmac_key = _construct(secret, "HS256") if secret else None  # None => 401
        self._keys: list[_SigningKey] | None = None
        self._last_fetch: float | None = None
        self._keys_expire_at = 0.0  # when the fetched keys must be fetched again
        self._last_fetch_failed = False
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def clear_cache(self) -> None:
        self._cache.clear()

    async def verify(self, token: str) -> VerifiedToken:
        try:
            return await self._verify(token)
        except Unauthorized:
            raise
        except Exception:  # jose, ValueError, TypeError, binascii, httpx...
            raise Unauthorized(detail="invalid token") from None

    async def _verify(self, token: str) -> VerifiedToken:
        if not isinstance(token, str) or not token:
            raise Unauthorized(detail="missing token")
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized(detail="token too large")
        parts = token.split(".")
        if len(parts) == 5:
            raise Unauthorized(detail="encrypted tokens are not accepted")
        if len(parts) != 3 or not all(_B64URL.fullmatch(p) for p in parts):
            raise Unauthorized(detail="malformed token")
        try:
            header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        except ValueError:  # includes binascii.Error and UnicodeDecodeError
            raise Unauthorized(detail="malformed token header") from None
        if not isinstance(header, dict):
            raise Unauthorized(detail="malformed token header")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._allowed:
            raise Unauthorized(detail="token algorithm not accepted")
        if "crit" in header:
            raise Unauthorized(detail="unsupported token header")

        now = self._clock()
        if alg not in HS256_ALGS and self._keys is not None and now >= self._keys_expire_at:
            await self._refresh(stale=True)  # before the cache: a removed key stops at once
        cache_key = hashlib.sha256(token.encode("ascii")).digest()
        hit = self._cache.get(cache_key)
        if hit is not None:
            if now < hit.exp:
                return hit
            del self._cache[cache_key]  # past exp: verify afresh, never served from cache

        key = self._hmac_key if alg in HS256_ALGS else await self._key_for(header, alg)
        if key is None:
            raise Unauthorized(detail="signing keys unavailable")
        claims = self._decode(token, key, alg)
        verified = self._check_claims(claims, now)
        if now < verified.exp:
            if len(self._cache) >= CACHE_MAX_ENTRIES:
                self._evict(now)
            self._cache[cache_key] = verified
        return verified

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        s = self._settings
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=s.jwt_issuer,
                options=dict(JOSE_OPTIONS),
            )
        except ExpiredSignatureError:
            raise Unauthorized(detail="token has expired") from None
        except Exception as exc:  # jose's own fixed messages, never token text
            msg = str(exc)
            detail = next((d for pat, d in _JOSE_DETAILS.items() if pat in msg), "invalid token")
            raise Unauthorized(detail=detail) from None

    def _check_claims(self, claims: Any, now: float) -> VerifiedToken:
        """Our own checks, on top of jose's, with the injected clock."""
        s = self._settings
        if not isinstance(claims, dict):
            raise Unauthorized(detail="invalid token")
        for name in REQUIRED_CLAIMS:
            if name not in claims:
                raise Unauthorized(detail=f"missing claim: {name}")
        exp = claims["exp"]
        if not _is_number(exp):
            raise Unauthorized(detail="invalid claim: exp")
        if exp + LEEWAY < now:
            raise Unauthorized(detail="token has expired")
        if exp > now + s.jwt_max_ttl + LEEWAY:
            raise Unauthorized(
                detail=f"token lifetime too long: it must expire within {s.jwt_max_ttl} s"
            )
        for name, text in (("nbf", "token not yet valid"), ("iat", "token issued in the future")):
            if name in claims:
                if not _is_number(claims[name]):
                    raise Unauthorized(detail=f"invalid claim: {name}")
                if claims[name] > now + LEEWAY:
                    raise Unauthorized(detail=text)
        aud = claims["aud"]
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise Unauthorized(detail="invalid audience")
        if not set(audiences) & set(s.jwt_audiences):
            raise Unauthorized(detail="invalid audience")
        if claims["iss"] != s.jwt_issuer:
            raise Unauthorized(detail="invalid issuer")
        mapping = self._mapping
        if mapping.subject_claim not in claims:
            raise Unauthorized(detail=f"missing claim: {mapping.subject_claim}")
        sub = claims[mapping.subject_claim]
        if not isinstance(sub, str) or not sub.strip() or _has_control(sub) or len(sub) > 255:
            raise Unauthorized(detail="invalid subject")
        raw_roles = claims.get("roles")  # Entra ID omits it when the user has no app role
        if raw_roles is not None and (
            not isinstance(raw_roles, list)
            or not all(isinstance(r, str) for r in raw_roles)
            or any(_has_control(r) for r in raw_roles)
        ):
            raise Unauthorized(detail="invalid roles claim")
        roles = mapping.roles(raw_roles or [])
        force = claims.get(mapping.force_claim)
        if isinstance(force, str) and mapping.force_claim != "force":
            force = force.strip().lower()  # a directory attribute: "Staffs" is the code staffs
        if force is not None and (not isinstance(force, str) or not _FORCE_RE.fullmatch(force)):
            raise Unauthorized(detail=f"invalid force claim: {mapping.force_claim}")
        if mapping.fixed_force is not None:
            if force is not None and force != mapping.fixed_force:
                raise Unauthorized(detail="the token's force is not this tenant's force")
            force = mapping.fixed_force
        if force is None and roles & FORCE_ROLES:
            raise Unauthorized(detail=f"missing force claim: {mapping.force_claim}")
        display = claims.get("name")
        if not isinstance(display, str) or _has_control(display):
            display = None
        return VerifiedToken(
            sub=sub,
            name=display,
            roles=roles,
            force=force,
            exp=int(exp),
            claims=claims,
            missing_role=None if roles else mapping.missing_role(raw_roles),
        )

    def _evict(self, now: float) -> None:
        for k in [k for k, v in self._cache.items() if v.exp <= now]:
            del self._cache[k]
        while len(self._cache) >= CACHE_MAX_ENTRIES:
            del self._cache[next(iter(self._cache))]  # oldest insertion first

    # -- JWKS ------------------------------------------------------------------------------

    async def _key_for(self, header: dict[str, Any], alg: str) -> Any:
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthorized(detail="malformed token header")
        found = self._select(kid, alg)
        if found is None:
            await self._refresh()
            found = self._select(kid, alg)
        if found is None:
            if self._keys is None or self._last_fetch_failed:
                raise Unauthorized(detail="signing keys unavailable")
            raise Unauthorized(detail="unknown signing key")
        return found.key

    def _select(self, kid: str | None, alg: str) -> _SigningKey | None:
        candidates = [k for k in self._keys or () if k.alg == alg]
        if kid is None:  # only unambiguous: exactly one key of the right type
            return candidates[0] if len(candidates) == 1 else None
        return next((k for k in candidates if k.kid == kid), None)

    def _get_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _lifetime(self, cache_max_age: float | None) -> float:
        """How long fetched keys are trusted: REGISTRY_OIDC_JWKS_MAX_AGE, or the response's
        Cache-Control max-age when that is shorter (but never below JWKS_MIN_MAX_AGE)."""
        limit = float(self._settings.oidc_jwks_max_age)
        if cache_max_age is None:
            return limit
        return min(limit, max(cache_max_age, JWKS_MIN_MAX_AGE))

    async def _refresh(self, *, stale: bool = False) -> None:
        """Fetch the JWKS: when the keys are past their age (`stale`), or for an unknown `kid`
        at most once per JWKS_MIN_REFRESH_INTERVAL. A failed fetch keeps the keys it had."""
        async with self._get_lock():
            now = self._clock()
            if stale:
                if now < self._keys_expire_at:
                    return  # a concurrent caller already refreshed
            elif (
                self._last_fetch is not None and now - self._last_fetch < JWKS_MIN_REFRESH_INTERVAL
            ):
                return  # includes concurrent waiters: the first one already fetched
            self._last_fetch = now
            try:
                raw, cache_max_age = await self._fetch_jwks()
                keys = _parse_jwks(raw, self._allowed)
            except Exception:  # unreachable, HTTP error, bad JSON...
                self._last_fetch_failed = True
                # Keep the keys it had; try again after the unknown-kid interval at most.
                retry = min(JWKS_MIN_REFRESH_INTERVAL, float(self._settings.oidc_jwks_max_age))
                self._keys_expire_at = now + retry
                log.warning("JWKS refresh failed; keeping the keys fetched before")
                return
            self._last_fetch_failed = False
            self._keys_expire_at = now + self._lifetime(cache_max_age)
            old = None if self._keys is None else {k.fingerprint for k in self._keys}
            if old != {k.fingerprint for k in keys}:
                self._cache.clear()
            self._keys = keys

    async def _fetch_jwks(self) -> tuple[bytes, float | None]:
        """The JWKS document and the max-age its response's Cache-Control gives (if any)."""
        s = self._settings
        if s.oidc_jwks_url:
            async with self._client_factory() as client:
                resp = await client.get(s.oidc_jwks_url, timeout=JWKS_TIMEOUT)
                resp.raise_for_status()
                return resp.content, cache_control_max_age(resp.headers.get("cache-control"))
        if s.oidc_jwks_file:
            raw = await anyio.to_thread.run_sync(Path(s.oidc_jwks_file).read_bytes)
            return raw, None
        raise RuntimeError("no JWKS source configured")


def mint_token(
    settings: Settings,
    *,
    sub: str,
    roles: list[str] | tuple[str, ...] | frozenset[str],
    force: str | None = None,
    ttl: int = 3600,
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """An HS256 token for demos, tests and tooling. Reserved claims win over `extra`."""
    if settings.auth_mode != "hs256":
        raise ValueError("mint_token only works in hs256 mode; the IdP issues tokens in oidc mode")
    secret = settings.effective_jwt_secret
    if not secret:
        raise ValueError("no JWT secret configured")
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    if ttl > settings.jwt_max_ttl:
        raise ValueError(
            f"ttl must be at most REGISTRY_JWT_MAX_TTL ({settings.jwt_max_ttl} s); "
            "longer-lived tokens are refused"
        )
    now = int(time.time())
    claims: dict[str, Any] = {**(extra or {}), "sub": sub, "roles": sorted(roles), "iat": now}
    audience = settings.jwt_audiences[0]
    claims |= {"iss": settings.jwt_issuer, "aud": audience, "exp": now + int(ttl)}
    claims |= {k: v for k, v in (("force", force), ("name", name)) if v is not None}
    return jwt.encode(claims, secret, algorithm="HS256")
