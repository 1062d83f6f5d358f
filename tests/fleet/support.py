"""Real servers for the fleet tests: `registry` processes, fresh PostgreSQL databases on the
shared server, and PostgreSQL clusters of their own (initdb + pg_ctl on a free port in a
temporary directory, removed after)."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, TEST_SECRET

SHARED_PG = os.environ.get("REGISTRY_FLEET_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REGISTRY_FLEET_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _psql(url: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


@contextlib.contextmanager
def fresh_database(server_url: str = SHARED_PG) -> Iterator[str]:
    """A new, empty database on a PostgreSQL server; dropped after."""
    name = f"registry_fleet_{uuid.uuid4().hex[:12]}"
    _psql(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        _psql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_DATABASE_URL=database_url,
        REGISTRY_JWT_SECRET=TEST_SECRET,
        REGISTRY_LOG_FORMAT="json",
        REGISTRY_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def registry(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Server:
    """`registry serve` in a process of its own, its stderr kept in a file."""

    def __init__(self, env: dict[str, str], *args: str, log_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"serve-{self.port}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str = "/healthz", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.base + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.output()}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def json_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.output().splitlines():
            with contextlib.suppress(ValueError):
                doc = json.loads(line)
                if isinstance(doc, dict):
                    lines.append(doc)
        return lines

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no PostgreSQL binary {name}")
    return found[-1]


def _as_postgres() -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Cluster:
    """A PostgreSQL cluster of its own in a temporary directory, on a free port."""

    def __init__(self, data_dir: Path | None = None, *, port: int | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="registry-pg-"))
        self.data = data_dir or self.root / "data"
        self.port = port or free_port()
        self.socket_dir = self.root / "sock"
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(
        self, *cmd: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*_as_postgres(), *cmd], check=check, capture_output=True, text=True, timeout=timeout
        )

    def init(self, *conf: str) -> Cluster:
        self.run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                 "--no-sync")  # fmt: skip
        self.configure(*conf)
        return self

    def configure(self, *conf: str) -> None:
        lines = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.socket_dir}'",
            "fsync = off",
            "shared_buffers = 16MB",
            "max_connections = 60",
            *conf,
        ]
        with open(self.data / "postgresql.auto.conf", "a") as f:
            f.write("\n".join(lines) + "\n")

    def start(self) -> Cluster:
        self.run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                 "-t", "60", "start")  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        self.run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def signal(self, sig: str) -> None:
        """SIGSTOP / SIGCONT the postmaster and every backend: a database that hangs."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for target in [pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, getattr(signal, f"SIG{sig}"))

    def replica(self) -> Cluster:
        """A streaming replica of this cluster (pg_basebackup -R), started."""
        standby = Cluster()
        standby.data = standby.root / "data"
        standby.run(pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.port),
                    "-U", "postgres", "-D", str(standby.data), "-R", "-X", "stream")  # fmt: skip
        standby.configure("hot_standby = on", "hot_standby_feedback = on")
        return standby.start()

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.remove()
