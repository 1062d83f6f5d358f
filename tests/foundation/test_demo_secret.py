"""The demo cannot reach production.

The attack: `REGISTRY_DEMO_MODE=true registry serve` on PostgreSQL with no secret started and
accepted admin tokens signed with a secret that was a constant in the source. Now each demo
database has its own random secret beside its file, demo mode serves nothing but such a file,
and `registry token` signs for a running demo exactly as the README shows.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from jose import jwt

from app.config import ConfigError, Settings
from app.main import create_app

PUBLISHED_DEMO_SECRET = "demo-only-secret-not-for-production-use-0000"
ROOT = Path(__file__).resolve().parents[2]
REGISTRY = shutil.which("registry", path=str(Path(sys.executable).parent)) or "registry"
_TOKEN = re.compile(r"^\s+(\S.*?\S)\s+(eyJ\S+)$")


def _env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return {**clean, "REGISTRY_LOG_LEVEL": "WARNING", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _forged(secret: str, roles: list[str], force: str | None = None) -> str:
    now = int(time.time())
    claims = {"sub": "intruder@nowhere", "roles": roles, "iss": "registry", "aud": "registry",
              "iat": now, "exp": now + 600}  # fmt: skip
    if force:
        claims["force"] = force
    return jwt.encode(claims, secret, algorithm="HS256")


def _wait_up(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the demo exited ({proc.returncode})")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the demo did not start")


def _refuses_to_start(env: dict[str, str]) -> str:
    """Run `registry serve` with env; assert it exits with an error; its stderr."""
    port = _free_port()
    proc = subprocess.Popen(
        [REGISTRY, "serve", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("demo mode served a database that is not a demo's") from None
    assert proc.returncode == 2, err
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    return err


def test_demo_mode_refuses_to_serve_the_registry_database(database_url):
    # The test database is PostgreSQL on the PostgreSQL run, a plain SQLite file otherwise.
    err = _refuses_to_start(_env(REGISTRY_DEMO_MODE="true", REGISTRY_DATABASE_URL=database_url))
    assert "REGISTRY_DEMO_MODE" in err
    strong = "s" * 48
    err = _refuses_to_start(
        _env(
            REGISTRY_DEMO_MODE="true",
            REGISTRY_DATABASE_URL=database_url,
            REGISTRY_JWT_SECRET=strong,
        )
    )
    assert "REGISTRY_DEMO_MODE" in err


@pytest.mark.parametrize(
    "url", ["postgresql://postgres@127.0.0.1/registry", "sqlite:///:memory:", "sqlite://"]
)
def test_demo_mode_is_refused_on_anything_but_a_demo_file(url):
    with pytest.raises(ConfigError, match="REGISTRY_DEMO_MODE"):
        create_app(Settings(database_url=url, demo_mode=True))


def test_the_once_published_demo_secret_is_refused_as_a_secret():
    with pytest.raises(ConfigError, match="REGISTRY_JWT_SECRET"):
        create_app(Settings(jwt_secret=PUBLISHED_DEMO_SECRET))


def _demo(directory: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [REGISTRY, "demo", "--database", str(directory / "registry-demo.db"), *args],
        cwd=directory, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _tokens(proc: subprocess.Popen[str]) -> dict[str, str]:
    """The demo's printed tokens, by label, read until it names its docs."""
    assert proc.stdout is not None
    found: dict[str, str] = {}
    for line in proc.stdout:
        match = _TOKEN.match(line.rstrip("\n"))
        if match:
            found[match.group(1)] = match.group(2)
        if line.startswith("API docs:"):
            return found
    raise AssertionError(f"the demo printed no tokens (exit {proc.wait()})")


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    port = _free_port()
    proc = _demo(tmp_path, "--port", str(port))
    try:
        tokens = _tokens(proc)
        base = f"http://127.0.0.1:{port}"
        _wait_up(base, proc)
        yield base, tmp_path, tokens
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_running_demo_trusts_its_own_secret_only(running_demo, tmp_path_factory):
    base, directory, tokens = running_demo
    secret_file = directory / "registry-demo.db.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    me = f"{base}/api/v1/me"
    assert httpx.get(
        me, headers={"Authorization": f"Bearer {tokens['admin (national)']}"}
    ).is_success

    # The constant earlier versions shipped opens nothing.
    forged = _forged(PUBLISHED_DEMO_SECRET, ["admin"])
    r = httpx.get(me, headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401

    # Another demo database's tokens do not open this one.
    other = tmp_path_factory.mktemp("other-demo")
    second = _demo(other, "--no-serve")
    other_tokens = _tokens(second)
    assert second.wait(timeout=60) == 0
    assert (other / "registry-demo.db.secret").read_text() != secret_file.read_text()
    r = httpx.get(me, headers={"Authorization": f"Bearer {other_tokens['admin (national)']}"})
    assert r.status_code == 401


def test_registry_token_works_against_a_running_demo_as_the_readme_shows(running_demo):
    base, directory, _tokens_printed = running_demo
    # The README's command, in the directory where `registry demo` runs, nothing else set.
    minted = subprocess.run(
        [REGISTRY, "token", "--sub", "someone@staffs", "--force", "staffs",
         "--role", "comms_admin", "--role", "psd", "--ttl", "3600"],
        cwd=directory, env=_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    r = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == "someone@staffs"
    r = httpx.get(
        f"{base}/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert r.status_code == 200
    assert r.json()["items"]


def test_registry_token_without_a_secret_or_a_demo_refuses(tmp_path):
    minted = subprocess.run(
        [REGISTRY, "token", "--sub", "a@staffs", "--force", "staffs", "--role", "staff"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert minted.returncode == 2
    assert "REGISTRY_JWT_SECRET" in minted.stderr
    assert not minted.stdout.strip()
