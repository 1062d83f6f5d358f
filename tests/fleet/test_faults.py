"""Faults answered, not suffered: a database that is lost, hung or read-only gets a 503
problem+json with Retry-After and one log line per request (no traceback); /readyz says
"not ready" within two seconds; and the service recovers by itself when the database is
back. PostgreSQL faults use a cluster of the test's own; SQLite faults an immutable file.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.fleet.support import Cluster, Server, _psql, base_env, registry

FAST_TIMEOUTS = {
    "REGISTRY_DB_CONNECT_TIMEOUT": "2",
    "REGISTRY_DB_POOL_TIMEOUT": "2",
    "REGISTRY_DB_STATEMENT_TIMEOUT": "2",
}


def _admin() -> dict[str, str]:
    from app.auth.tokens import mint_token
    from app.config import Settings

    token = mint_token(
        Settings(jwt_secret=TEST_SECRET), sub="ops-admin", roles=["admin"], force=None
    )
    return {"Authorization": f"Bearer {token}"}


def _create_force(base: str, code: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/forces", json={"code": code, "name": f"Force {code}"},
        headers=_admin(), timeout=30,
    )  # fmt: skip


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unavailable"
    assert int(response.headers["retry-after"]) >= 1


def _ready_within(base: str, seconds: float) -> tuple[int, float]:
    started = time.monotonic()
    status = httpx.get(base + "/readyz", timeout=10).status_code
    return status, time.monotonic() - started


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster() as found:
        found.init().start()
        yield found


@pytest.fixture
def served(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Cluster, Server]]:
    url = cluster.url.rsplit("/", 1)[0] + "/registry"
    _psql(cluster.url, "CREATE DATABASE registry")
    assert registry("db", "upgrade", env=base_env(url)).returncode == 0
    with Server(base_env(url, **FAST_TIMEOUTS), log_dir=tmp_path) as server:
        server.wait_ready("/readyz")
        yield cluster, server


def test_a_lost_database_is_503_with_one_line_each_and_recovers(
    served: tuple[Cluster, Server],
) -> None:
    cluster, server = served
    assert _create_force(server.base, "before").status_code == 201
    assert httpx.get(server.base + "/api/v1/forces/before", headers=_admin()).status_code == 200

    cluster.stop("immediate")
    for _ in range(3):
        _assert_unavailable(_create_force(server.base, "during"))
        _assert_unavailable(
            httpx.get(server.base + "/api/v1/forces/before", headers=_admin(), timeout=30)
        )
    status, took = _ready_within(server.base, 2)
    assert status == 503 and took < 2.5

    lines = server.json_lines()
    assert not [line for line in lines if line.get("exc") or line["level"] == "error"], lines
    assert len([line for line in lines if line["msg"].startswith("database unavailable")]) >= 6
    assert "Traceback" not in server.output()

    cluster.start()
    deadline = time.monotonic() + 30
    while _create_force(server.base, "after").status_code != 201:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.5)
    assert httpx.get(server.base + "/api/v1/forces/before", headers=_admin()).status_code == 200
    assert _ready_within(server.base, 2)[0] == 200


def test_a_hung_database_is_answered_within_the_timeouts(
    served: tuple[Cluster, Server],
) -> None:
    cluster, server = served
    assert _create_force(server.base, "early").status_code == 201
    cluster.signal("STOP")
    try:
        status, took = _ready_within(server.base, 2)
        assert status == 503 and took < 2.5
        started = time.monotonic()
        _assert_unavailable(_create_force(server.base, "hung"))
        # Connect, pool and statement limits of 2 s (the driver's own at 2 + 5 s).
        assert time.monotonic() - started < 12
    finally:
        cluster.signal("CONT")
    deadline = time.monotonic() + 30
    while _create_force(server.base, "later").status_code != 201:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.5)


def _read_only(cluster: Cluster, on: bool) -> None:
    setting = "on" if on else "off"
    _psql(cluster.url, f"ALTER DATABASE registry SET default_transaction_read_only = {setting}")
    # The setting holds for connections made from now on: end the pooled ones.
    _psql(
        cluster.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = 'registry' AND pid <> pg_backend_pid()",
    )


def test_a_read_only_database_is_not_ready_and_refuses_writes_with_503(
    served: tuple[Cluster, Server],
) -> None:
    cluster, server = served
    db = cluster.url.rsplit("/", 1)[0] + "/registry"
    _read_only(cluster, True)
    deadline = time.monotonic() + 20
    while _ready_within(server.base, 2)[0] != 503:
        assert time.monotonic() < deadline, "/readyz kept saying ready"
        time.sleep(0.3)
    assert "read-only" in httpx.get(server.base + "/readyz").json()["detail"]
    response = _create_force(server.base, "refused")
    while response.status_code != 503 and time.monotonic() < deadline:
        response = _create_force(server.base, "refused")
    _assert_unavailable(response)
    assert _psql(db, "SELECT count(*) FROM forces WHERE code = 'refused'") == "0"

    _read_only(cluster, False)
    deadline = time.monotonic() + 30
    while _create_force(server.base, "writable").status_code != 201:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.5)
    assert _ready_within(server.base, 2)[0] == 200


def _chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True)


def test_sqlite_recovers_once_its_file_is_writable_again(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "registry.db"
    url = f"sqlite:///{path}"
    assert registry("db", "upgrade", env=base_env(url)).returncode == 0
    files = list(folder.iterdir())
    # The file cannot be written (even by root) when the service opens it.
    _chattr("+i", *files, folder)
    try:
        with Server(base_env(url), log_dir=tmp_path) as server:
            server.wait_ready("/healthz")
            status, _ = _ready_within(server.base, 2)
            assert status == 503
            assert "read-only" in httpx.get(server.base + "/readyz").json()["detail"]
            _assert_unavailable(_create_force(server.base, "refused"))
            _chattr("-i", folder, *files)
            # Writable again: the next write works, with no restart.
            assert _create_force(server.base, "second").status_code == 201
            assert _ready_within(server.base, 2)[0] == 200
            assert "Traceback" not in server.output()
    finally:
        _chattr("-i", folder, *files)
