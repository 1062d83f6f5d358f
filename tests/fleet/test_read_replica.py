"""A real streaming replica (pg_basebackup of a cluster of the test's own): reads go there,
writes and a writer's next reads go to the primary, and the replica lagging or going away
sends reads back to the primary with /readyz saying so."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.fleet.support import REDIS_URL, Cluster, Server, _psql, base_env, registry


def _headers(sub: str) -> dict[str, str]:
    from app.auth.tokens import mint_token
    from app.config import Settings

    token = mint_token(Settings(jwt_secret=TEST_SECRET), sub=sub, roles=["admin"], force=None)
    return {"Authorization": f"Bearer {token}"}


def _until(check, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture
def pair() -> Iterator[tuple[Cluster, Cluster]]:
    with Cluster() as primary:
        primary.init("wal_level = replica", "max_wal_senders = 5").start()
        _psql(primary.url, "CREATE DATABASE registry")
        url = primary.url.rsplit("/", 1)[0] + "/registry"
        assert registry("db", "upgrade", env=base_env(url)).returncode == 0
        with primary.replica() as standby:
            yield primary, standby


def _db(cluster: Cluster) -> str:
    return cluster.url.rsplit("/", 1)[0] + "/registry"


def _serve(pair: tuple[Cluster, Cluster], tmp_path: Path, **extra: str) -> Server:
    primary, standby = pair
    env = base_env(
        _db(primary),
        REGISTRY_READ_DATABASE_URL=_db(standby),
        REGISTRY_DB_CONNECT_TIMEOUT="1",
        REGISTRY_REDIS_URL=REDIS_URL,
        REGISTRY_REDIS_PREFIX=f"registry-replica-{tmp_path.name}:",
        **extra,
    )
    server = Server(env, "--workers", "2", log_dir=tmp_path)
    server.wait_ready("/readyz")
    return server


def _every_worker_says(server: Server, status: str) -> bool:
    """Each process learns of the replica on its own (once a second): ask on new
    connections, which land on either worker, until they all say `status`."""
    return all(
        httpx.get(server.base + "/readyz", headers={"Connection": "close"}, timeout=10).json()[
            "replica"
        ]["status"]
        == status
        for _ in range(8)
    )


def _force(server: Server, code: str, sub: str) -> httpx.Response:
    return httpx.get(f"{server.base}/api/v1/forces/{code}", headers=_headers(sub), timeout=10)


def _create(server: Server, code: str, sub: str) -> None:
    created = httpx.post(
        f"{server.base}/api/v1/forces", json={"code": code, "name": f"Force {code}"},
        headers=_headers(sub), timeout=10,
    )  # fmt: skip
    assert created.status_code == 201, created.text


def test_reads_use_the_replica_and_a_writer_reads_its_own_writes(
    pair: tuple[Cluster, Cluster], tmp_path: Path
) -> None:
    primary, standby = pair
    with _serve(pair, tmp_path, REGISTRY_READ_MAX_LAG="3600") as server:
        _until(lambda: _every_worker_says(server, "ok"))
        _create(server, "visible", "writer")
        _until(lambda: _force(server, "visible", "reader").status_code == 200)

        # The replica stops applying WAL: it serves what it had.
        _psql(_db(standby), "SELECT pg_wal_replay_pause()")
        _create(server, "fresh", "writer")
        # The writer sees its write at once, from whichever worker answers...
        assert all(_force(server, "fresh", "writer").status_code == 200 for _ in range(6))
        # ...another caller reads the replica, which has not applied it.
        assert _force(server, "fresh", "reader").status_code == 404
        assert _psql(_db(primary), "SELECT count(*) FROM forces WHERE code='fresh'") == "1"

        _psql(_db(standby), "SELECT pg_wal_replay_resume()")
        _until(lambda: _force(server, "fresh", "reader").status_code == 200)


def test_a_lagging_or_lost_replica_sends_reads_to_the_primary(
    pair: tuple[Cluster, Cluster], tmp_path: Path
) -> None:
    standby = pair[1]
    with _serve(pair, tmp_path, REGISTRY_READ_MAX_LAG="1") as server:
        _until(lambda: _every_worker_says(server, "ok"))
        _psql(_db(standby), "SELECT pg_wal_replay_pause()")
        _create(server, "lagged", "writer")
        # Past one second behind, the replica is not read: every caller sees the write.
        _until(lambda: _every_worker_says(server, "lagging"))
        assert _force(server, "lagged", "reader").status_code == 200
        _psql(_db(standby), "SELECT pg_wal_replay_resume()")

        standby.stop("immediate")
        _until(lambda: _every_worker_says(server, "unavailable"))
        ready = httpx.get(server.base + "/readyz")
        assert ready.status_code == 200 and ready.json()["replica"]["reads"] == "primary"
        _create(server, "alone", "writer")
        assert _force(server, "alone", "reader").status_code == 200
        listed = httpx.get(f"{server.base}/api/v1/forces", headers=_headers("reader"))
        assert listed.status_code == 200
        assert {"lagged", "alone"} <= {f["code"] for f in listed.json()["items"]}
        report = httpx.get(f"{server.base}/api/v1/reports/summary", headers=_headers("reader"))
        assert report.status_code == 200, report.text

        standby.start()
        _until(lambda: _every_worker_says(server, "ok"))
        report = httpx.get(f"{server.base}/api/v1/reports/summary", headers=_headers("reader"))
        assert report.status_code == 200, report.text
