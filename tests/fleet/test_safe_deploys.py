"""Safe deploys: migrations that take turns, a server that names its database and refuses
to invent one, deadlines for slow clients, a bounded shutdown, quiet probes, JSON logs
for every line, and metrics that can be kept off the API port or behind a token.

These run real `registry` processes: on the shared PostgreSQL server where several
processes meet, on a SQLite file of their own where one process is enough.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.migrate import head_revision
from tests.conftest import ROOT
from tests.fleet.support import Server, _psql, base_env, free_port, fresh_database, registry


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('deploys') / 'registry.db'}"
    done = registry("db", "upgrade", env=base_env(url))
    assert done.returncode == 0, done.stderr
    yield url


def test_three_upgrades_started_at_once_all_succeed_and_migrate_once() -> None:
    with fresh_database() as url:
        env = base_env(url, REGISTRY_LOG_LEVEL="INFO")
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "db", "upgrade"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        results = [(*p.communicate(timeout=180), p.returncode) for p in procs]
        assert [rc for _, _, rc in results] == [0, 0, 0], results
        assert _psql(url, "SELECT version_num FROM alembic_version") == head_revision()
        # The first runner migrated the empty database; the others waited, found it at
        # head and changed nothing.
        said = sorted(out.strip() for out, _, _ in results)
        assert said == [
            f"database already at {head_revision()}",
            f"database already at {head_revision()}",
            f"database migrated from empty to {head_revision()}",
        ], results


def test_serve_refuses_an_implicit_sqlite_file(tmp_path: Path) -> None:
    env = base_env("unused")
    del env["REGISTRY_DATABASE_URL"]
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "REGISTRY_DATABASE_URL is not set" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no registry.db made


def test_serve_names_its_database_without_the_password_and_logs_only_json(
    tmp_path: Path,
) -> None:
    with fresh_database() as url:
        assert registry("db", "upgrade", env=base_env(url)).returncode == 0
        with_password = url.replace("postgres@", "postgres:hunter2-secret@")
        with Server(base_env(with_password), log_dir=tmp_path) as server:
            server.wait_ready("/readyz")
            for _ in range(5):
                assert httpx.get(server.base + "/readyz", timeout=5).status_code == 200
            server.stop()
            output = server.output()
    lines = [line for line in output.splitlines() if line.strip()]
    docs = [json.loads(line) for line in lines]  # every line is JSON, uvicorn's included
    assert "hunter2-secret" not in output
    start = next(d for d in docs if d["msg"] == "starting")
    assert start["database"].endswith(url.rsplit("/", 1)[1]) and "***" in start["database"]
    assert any(d["logger"].startswith("uvicorn") for d in docs)
    # Probes are quiet: no migration-context lines however often /readyz is called.
    assert not [d for d in docs if d["logger"].startswith("alembic")]


def _read_until_closed(sock: socket.socket, limit: float) -> bytes:
    sock.settimeout(limit)
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_a_client_that_stalls_in_its_headers_gets_408_and_is_disconnected(
    sqlite_file: str, tmp_path: Path
) -> None:
    env = base_env(sqlite_file, REGISTRY_HEADER_TIMEOUT="1")
    with Server(env, log_dir=tmp_path) as server:
        server.wait_ready()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: registry\r\nX-Slow: ")
            started = time.monotonic()
            answer = _read_until_closed(sock, 10)
            waited = time.monotonic() - started
        # A request that completes in time is answered as usual.
        assert httpx.get(server.base + "/healthz", timeout=5).status_code == 200
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"application/problem+json" in answer and b'"request-timeout"' in answer
    assert 0.5 < waited < 5


def test_a_client_that_trickles_its_body_gets_408(sqlite_file: str, tmp_path: Path) -> None:
    env = base_env(sqlite_file, REGISTRY_BODY_TIMEOUT="1")
    with Server(env, log_dir=tmp_path) as server:
        server.wait_ready()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                b"POST /api/v1/forces HTTP/1.1\r\nHost: registry\r\n"
                b'Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"co'
            )
            started = time.monotonic()
            answer = _read_until_closed(sock, 10)
            waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"request-timeout"' in answer
    assert 0.5 < waited < 5


def test_sigterm_with_a_request_in_flight_exits_within_the_shutdown_timeout(
    sqlite_file: str, tmp_path: Path
) -> None:
    env = base_env(sqlite_file, REGISTRY_SHUTDOWN_TIMEOUT="2", REGISTRY_BODY_TIMEOUT="600")
    with Server(env, log_dir=tmp_path) as server:
        server.wait_ready()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            # A body that never finishes: the request is in flight until it is cancelled.
            sock.sendall(
                b"POST /api/v1/forces HTTP/1.1\r\nHost: registry\r\n"
                b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
            )
            time.sleep(0.5)
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            server.proc.wait(timeout=30)
            took = time.monotonic() - started
    assert took < 8, f"shutdown took {took:.1f} s"
    assert "timeout graceful shutdown exceeded" in server.output()


def test_metrics_behind_a_token(sqlite_file: str, tmp_path: Path) -> None:
    token = "metrics-token-0123456789abcdef"
    env = base_env(sqlite_file, REGISTRY_METRICS_TOKEN=token)
    with Server(env, log_dir=tmp_path) as server:
        server.wait_ready()
        refused = httpx.get(server.base + "/metrics", timeout=5)
        wrong = httpx.get(
            server.base + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=5
        )
        allowed = httpx.get(
            server.base + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
    assert refused.status_code == 401 and wrong.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert allowed.status_code == 200 and "registry_http_requests_total" in allowed.text


def test_metrics_on_their_own_port_count_every_worker(tmp_path: Path) -> None:
    metrics_port = free_port()
    with fresh_database() as url:
        assert registry("db", "upgrade", env=base_env(url)).returncode == 0
        env = base_env(url, REGISTRY_METRICS_PORT=str(metrics_port))
        with Server(env, "--workers", "2", log_dir=tmp_path) as server:
            server.wait_ready()
            for _ in range(40):
                httpx.get(server.base + "/healthz", headers={"Connection": "close"}, timeout=5)
            on_api_port = httpx.get(server.base + "/metrics", timeout=5)
            scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
            answered_by = {
                line["pid"] for line in server.json_lines() if line.get("logger") == "app.access"
            }
    assert on_api_port.status_code == 404
    assert scraped.status_code == 200
    healthz = [
        line
        for line in scraped.text.splitlines()
        if line.startswith("registry_http_requests_total{") and 'route="/healthz"' in line
    ]
    assert healthz, scraped.text[:2000]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in healthz) >= 40
    assert len(answered_by) == 2, "the requests did not reach both workers"
