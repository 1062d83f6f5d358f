from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets that must never protect a real deployment (the last one was published as the
# demo's built-in secret by earlier versions).
WEAK_SECRETS = {
    "", "secret", "changeme", "change-me", "registry", "password", "dev", "test",
    "demo-only-secret-not-for-production-use-0000",
}  # fmt: skip
MIN_SECRET_LENGTH = 32
# The demo's signing secret lives beside its SQLite file, made by `registry demo`.
DEMO_SECRET_SUFFIX = ".secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    database_url: str = "sqlite:///./registry.db"
    auth_mode: Literal["hs256", "oidc"] = "hs256"
    jwt_secret: str = ""
    jwt_issuer: str = "registry"
    # One audience, or several separated by commas (e.g. an Entra ID app's client id and
    # its Application ID URI); a token must carry at least one of them.
    jwt_audience: str = "registry"
    oidc_jwks_url: str | None = None
    oidc_jwks_file: str | None = None
    # Seconds a fetched JWKS is trusted before it is fetched again (shorter when the JWKS
    # response's Cache-Control max-age says so), so a key the IdP removed stops working.
    oidc_jwks_max_age: int = Field(default=300, ge=1, le=86_400)
    # How the identity provider's tokens say who and what (oidc mode only).
    oidc_subject_claim: str = Field(default="sub", pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    oidc_force_claim: str = Field(default="force", pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    oidc_force: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    # `Registry.Admin=admin,Registry.Comms=comms_admin`: the provider's role values to ours.
    oidc_role_map: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # Tokens whose `exp` lies further ahead than this many seconds are refused.
    jwt_max_ttl: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    # Comma-separated in the environment (a JSON list works too).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"
    public_rate_limit: int = Field(default=120, ge=1)
    # Duplicate refusals that disclose an account outside the caller's view (409
    # `duplicate-account`, import lines "already registered"), per caller in a sliding
    # window of this many seconds; past it 429 `too-many-duplicate-refusals`.
    duplicate_probe_limit: int = Field(default=20, ge=1, le=100_000)
    duplicate_probe_window: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    # Shared state of a fleet of API processes (the public rate limit): Redis when set,
    # else the PostgreSQL database; SQLite (one process) counts in memory.
    redis_url: str | None = None
    redis_prefix: str = Field(default="registry:", max_length=100)
    # Demo mode: tokens signed with the demo database's own random secret (kept beside
    # its SQLite file); refused on any other database.
    demo_mode: bool = False
    db_pool_size: int = Field(default=10, ge=1)
    # A PostgreSQL streaming replica for reads (see app/replica.py): reads go to the
    # primary while it lags more than read_max_lag seconds or cannot be reached, and for
    # read_your_writes seconds after a caller's own write.
    read_database_url: str | None = None
    read_max_lag: float = Field(default=5, ge=0, le=3600)
    read_your_writes: float = Field(default=10, ge=0, le=3600)
    db_max_overflow: int = Field(default=10, ge=0)
    # Seconds: to open a database connection; to wait for a pooled one; for one statement
    # (PostgreSQL's statement_timeout, and the driver's own limit a little after it, so a
    # hung server is given up on too). 0 = no statement limit (`registry seed` uses 0).
    db_connect_timeout: float = Field(default=5, gt=0, le=300)
    db_pool_timeout: float = Field(default=10, gt=0, le=300)
    db_statement_timeout: float = Field(default=30, ge=0, le=3600)
    # PostgreSQL: the national summary runs as this many concurrent statements (forces
    # split between them, one shared snapshot); about the database server's cores.
    report_parallelism: int = Field(default=2, ge=1, le=16)
    # Deploys: seconds `registry serve` lets in-flight requests finish after SIGTERM
    # before it cancels them and exits; seconds a client may take to send its request
    # headers, and its whole body, before it is answered 408 and disconnected.
    shutdown_timeout: float = Field(default=20, gt=0, le=600)
    header_timeout: float = Field(default=10, gt=0, le=300)
    body_timeout: float = Field(default=60, gt=0, le=3600)
    workers: int = Field(default=1, ge=1, le=64)
    # /metrics: served on the API port unless metrics_port is set (then only there), and
    # answered only to `Authorization: Bearer <metrics_token>` when a token is set.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_token: str | None = Field(default=None, min_length=16, max_length=256)
    # Data rows accepted in one CSV import (`POST /imports/accounts`, `/imports/activity`);
    # a longer file is refused with 413 `too-many-rows` (bodies are capped at 20 MiB too).
    import_max_rows: int = Field(default=50_000, ge=1, le=1_000_000)
    activity_import_max_rows: int = Field(default=100_000, ge=1, le=1_000_000)
    # Requests one `POST /requests/bulk` may open; more → 422 `too-many-accounts`.
    bulk_max_requests: int = Field(default=500, ge=1, le=10_000)
    # The force's SMTP relay for email digests and campaign notices (no host: no email).
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = Field(default=30, gt=0, le=600)
    mail_from: str = Field(default="registry@localhost", max_length=254)
    # The audit log's checkpoint signing key (`registry audit keygen` writes one); without
    # it the tree still grows but no checkpoint is signed.
    audit_signing_key_file: str | None = None
    # Every signed checkpoint is also appended to this file (kept outside the database).
    audit_checkpoint_log: str | None = None
    # A checkpoint is signed once this many events were added since the last one, or
    # this many seconds after the last one when events were added since.
    audit_checkpoint_events: int = Field(default=1000, ge=1)
    audit_checkpoint_seconds: int = Field(default=300, ge=1)
    # The worker (`registry worker`): webhooks may name loopback, private and link-local
    # addresses and plain http only when this is set (development and tests).
    webhook_allow_private_urls: bool = False
    # Seconds one delivery may take (connect to last byte); then it counts as failed.
    webhook_timeout: float = Field(default=10, gt=0, le=120)
    # Failed deliveries are retried with exponential backoff and jitter for this long,
    # starting at webhook_retry_base seconds and doubling, then dead-lettered.
    webhook_retry_hours: float = Field(default=24, gt=0, le=24 * 14)
    webhook_retry_base: float = Field(default=10, gt=0, le=3600)
    # Deliveries in flight at once to one endpoint, and in all.
    webhook_concurrency: int = Field(default=4, ge=1, le=64)
    webhook_max_in_flight: int = Field(default=64, ge=1, le=1024)
    # Seconds between the worker's looks for due work; `registry serve --with-worker` and
    # `registry demo` set run_worker to run it inside the API process.
    worker_poll_seconds: float = Field(default=1, gt=0, le=300)
    run_worker: bool = False
    # Days after a leaver's leaving date before `registry retention run` pseudonymises
    # their personal fields (six years by default).
    leaver_retention_days: int = Field(default=2190, ge=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                import json

                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("oidc_force", mode="before")
    @classmethod
    def _blank_force(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _parse_role_map(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("{"):
                import json

                return json.loads(value)
            pairs: dict[str, str] = {}
            for item in value.split(","):
                if not item.strip():
                    continue
                source, sep, target = item.partition("=")
                if not sep or not source.strip() or not target.strip():
                    raise ValueError(f"expected ROLE_VALUE=role, got {item.strip()!r}")
                pairs[source.strip()] = target.strip()
            return pairs
        return value

    @field_validator("oidc_role_map")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        from app.models.enums import ROLES

        unknown = sorted(set(value.values()) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; roles are {', '.join(ROLES)}")
        return value

    @property
    def jwt_audiences(self) -> tuple[str, ...]:
        """Every accepted audience, in the order given (the first is the one minted)."""
        found = tuple(a.strip() for a in self.jwt_audience.split(",") if a.strip())
        return found or ("registry",)

    @property
    def database_named(self) -> bool:
        """Whether the database was chosen (REGISTRY_DATABASE_URL) rather than defaulted."""
        return "database_url" in self.model_fields_set

    @property
    def database_shown(self) -> str:
        """The database URL for logs: its password replaced by ***."""
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except Exception:  # an unparsable URL is refused elsewhere; never log it whole
            return self.database_url.split("://", 1)[0] + "://…"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def async_database_url(self) -> str:
        """The URL with the async driver the service uses for it."""
        url = self.database_url
        for prefix, driver in (
            ("postgresql+asyncpg://", None),
            ("postgresql+psycopg2://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite+aiosqlite://", None),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(prefix):
                return url if driver is None else driver + url[len(prefix) :]
        raise ValueError(f"unsupported database URL scheme in {url.split(':', 1)[0]!r}")

    def for_replica(self) -> Settings:
        """These settings with the read replica as the database."""
        if not self.read_database_url:
            raise ValueError("no read replica is set")
        return self.model_copy(update={"database_url": self.read_database_url})

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, None for PostgreSQL or an in-memory database."""
        url = self.async_database_url
        prefix = "sqlite+aiosqlite:///"
        if not url.startswith(prefix):
            return None
        path = url[len(prefix) :].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)

    def demo_secret(self) -> str:
        """The demo database's signing secret. Demo mode runs only on the SQLite file
        `registry demo` made (the one with a secret beside it): never on PostgreSQL, never
        on another database, so a demo token can never reach production data."""
        path = self.sqlite_path
        if path is None:
            raise ConfigError(
                "REGISTRY_DEMO_MODE runs only on the SQLite database `registry demo` makes; "
                "unset it (and set REGISTRY_JWT_SECRET) to serve any other database."
            )
        secret_file = demo_secret_file(path)
        try:
            secret = secret_file.read_text(encoding="utf-8").strip()
        except OSError:
            raise ConfigError(
                f"REGISTRY_DEMO_MODE: {path} is not a demo database (no {secret_file.name} "
                "beside it); make one with `registry demo`."
            ) from None
        if len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"REGISTRY_DEMO_MODE: {secret_file} does not hold a demo secret.")
        return secret

    def check_secret(self) -> None:
        """Refuse to run with a secret an attacker could guess."""
        if self.demo_mode:
            self.demo_secret()
            return
        if self.auth_mode != "hs256":
            return
        if self.jwt_secret.lower() in WEAK_SECRETS or len(self.jwt_secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "REGISTRY_JWT_SECRET is missing or weak: it must be at least "
                f"{MIN_SECRET_LENGTH} random characters (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)."
            )

    @property
    def effective_jwt_secret(self) -> str:
        return self.demo_secret() if self.demo_mode else self.jwt_secret


class ConfigError(RuntimeError):
    pass


def demo_secret_file(database: Path) -> Path:
    return database.with_name(database.name + DEMO_SECRET_SUFFIX)


def new_demo_secret(database: Path) -> str:
    """A fresh random secret for a new demo database, readable by its owner only."""
    secret_file = demo_secret_file(database)
    secret_file.unlink(missing_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
