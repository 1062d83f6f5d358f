from __future__ import annotations

import httpx
import pytest

from app.config import ConfigError, Settings
from app.main import create_app
from app.migrate import head_revision


async def test_healthz_answers_without_a_token(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_reports_database_at_migration_head(client):
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["migration"] == head_revision()


async def test_readyz_is_503_when_the_database_is_behind(settings, db):
    application = create_app(settings, database=db)
    application.state.migration_head = "9999"
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"


async def test_metrics_count_requests_by_route_template_and_status(client, tokens):
    await client.get("/api/v1/forces/some-code", headers=tokens.headers("admin", force=None))
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/forces/{code}"' in text
    assert "registry_http_request_duration_seconds_bucket" in text
    assert "some-code" not in text  # path values never become label values


async def test_docs_are_served_without_any_cdn(client):
    html = (await client.get("/docs")).text
    assert "/static/swagger/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    js = await client.get("/static/swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000


async def test_openapi_declares_problem_responses(client):
    spec = (await client.get("/openapi.json")).json()
    responses = spec["paths"]["/api/v1/forces"]["post"]["responses"]
    assert "application/problem+json" in responses["401"]["content"]
    assert "Problem" in spec["components"]["schemas"]


async def test_cors_allows_only_configured_origins(settings, db):
    application = create_app(
        settings.model_copy(update={"cors_origins": ["https://intranet.example"]}), database=db
    )
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        ok = await c.options(
            "/api/v1/forces",
            headers={"Origin": "https://intranet.example", "Access-Control-Request-Method": "GET"},
        )
        bad = await c.options(
            "/api/v1/forces",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
    assert ok.headers.get("access-control-allow-origin") == "https://intranet.example"
    assert "access-control-allow-origin" not in bad.headers


@pytest.mark.parametrize("secret", ["", "secret", "changeme", "short-but-not-default"])
def test_weak_or_default_secret_refuses_to_start(secret):
    with pytest.raises(ConfigError, match="REGISTRY_JWT_SECRET"):
        create_app(Settings(jwt_secret=secret))


def test_demo_mode_needs_a_demo_database(tmp_path):
    from app.config import new_demo_secret

    database = tmp_path / "demo.db"
    demo = Settings(database_url=f"sqlite:///{database}", demo_mode=True)
    with pytest.raises(ConfigError, match="REGISTRY_DEMO_MODE"):
        demo.check_secret()
    secret = new_demo_secret(database)
    demo.check_secret()
    assert demo.effective_jwt_secret == secret


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///./registry.db", "sqlite+aiosqlite:///./registry.db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls_work_as_given(given, expected):
    assert Settings(database_url=given).async_database_url == expected


def test_unsupported_database_url_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported database URL"):
        _ = Settings(database_url="mysql://x/y").async_database_url


def test_cors_origins_accept_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("REGISTRY_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
