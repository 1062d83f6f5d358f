"""SCIM credentials: per-force bearer secrets an admin issues for the identity provider.

A secret is 256 random bits; only its SHA-256 is stored. A presented secret is looked up
by its hash (a timing difference there tells nothing about a secret that is unguessable)
and the stored hash is compared again in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.audit import service as audit
from app.auth.principal import Principal
from app.errors import Conflict, NotFound, Unauthorized
from app.forces import service as forces
from app.models import ScimCredential
from app.pagination import decode_cursor, page_of
from app.scim import repository

SECRET_PREFIX = "scim_"
# The role a SCIM credential acts with inside the registry: it reads and writes the
# people records of its own force (app.auth.redaction) and nothing else; no token can
# carry it (app.auth.tokens knows only the roles of SPEC §3).
PROVISIONING_ROLE = "provisioning"


class ScimCredentialNotFound(NotFound):
    code = "scim-credential-not-found"


class DuplicateScimCredential(Conflict):
    code = "duplicate-scim-credential"
    title = "Duplicate SCIM credential"


class CredentialRevoked(Conflict):
    code = "scim-credential-revoked"
    title = "SCIM credential revoked"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> tuple[str, str]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    return secret, _digest(secret)


async def _force_id(session: AsyncSession, principal: Principal, code: str) -> uuid.UUID:
    return (await forces.get(session, principal, code)).id


async def create(
    session: AsyncSession, principal: Principal, code: str, name: str
) -> tuple[ScimCredential, str]:
    force_id = await _force_id(session, principal, code)
    if await repository.name_taken(session, force_id, name):
        raise DuplicateScimCredential(
            f"Force {code!r} already has a SCIM credential named {name!r}.", field="name"
        )
    secret, digest = _new_secret()
    made = ScimCredential(
        force_id=force_id, name=name, secret_sha256=digest, created_by=principal.sub
    )
    session.add(made)
    await session.flush()
    audit.record(
        session,
        principal,
        "scim_credential.created",
        "scim_credential",
        made.id,
        {"name": [None, name]},
        force_id=force_id,
    )
    return made, secret


async def page(
    session: AsyncSession, principal: Principal, code: str, cursor: str | None, limit: int
) -> tuple[list[ScimCredential], str | None]:
    force_id = await _force_id(session, principal, code)
    after = decode_cursor(cursor, 1)
    rows = await repository.credentials_of(session, force_id, after[0] if after else None, limit)
    return page_of(rows, limit, lambda c: [c.name])


async def _get(
    session: AsyncSession, principal: Principal, code: str, credential_id: uuid.UUID
) -> ScimCredential:
    found = await repository.credential(
        session, await _force_id(session, principal, code), credential_id
    )
    if found is None:
        raise ScimCredentialNotFound(f"No SCIM credential {credential_id} in force {code!r}.")
    return found


async def rotate(
    session: AsyncSession, principal: Principal, code: str, credential_id: uuid.UUID
) -> tuple[ScimCredential, str]:
    """A new secret for the credential; the old one stops working at once."""
    found = await _get(session, principal, code, credential_id)
    if found.revoked_at is not None:
        raise CredentialRevoked("A revoked credential cannot be rotated; issue a new one.")
    secret, digest = _new_secret()
    found.secret_sha256 = digest
    found.rotated_at = clock.now()
    await session.flush()
    audit.record(
        session,
        principal,
        "scim_credential.rotated",
        "scim_credential",
        found.id,
        {},
        force_id=found.force_id,
    )
    return found, secret


async def revoke(
    session: AsyncSession, principal: Principal, code: str, credential_id: uuid.UUID
) -> None:
    found = await _get(session, principal, code, credential_id)
    if found.revoked_at is not None:
        return
    found.revoked_at = clock.now()
    await session.flush()
    audit.record(
        session,
        principal,
        "scim_credential.revoked",
        "scim_credential",
        found.id,
        {},
        force_id=found.force_id,
    )


async def authenticate(session: AsyncSession, secret: str) -> Principal:
    """The provisioning principal of a live credential; 401 for anything else."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        raise Unauthorized("Not a SCIM credential.")
    digest = _digest(secret)
    found = await repository.live_credential_by_hash(session, digest)
    if found is None or not hmac.compare_digest(found[0].secret_sha256, digest):
        raise Unauthorized("Unknown or revoked SCIM credential.")
    credential, code = found
    return Principal(
        sub=f"scim:{credential.id}",
        name=f"SCIM provisioning ({credential.name})",
        roles=frozenset({PROVISIONING_ROLE}),
        force=code,
        force_id=credential.force_id,
    )
