"""`registry digests --now` against the test database and a real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from app import clock
from tests.conftest import ROOT
from tests.factories import make_account, make_force, make_guideline, make_person


def _registry(settings, *args, **env):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "digests", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "REGISTRY_DATABASE_URL": settings.database_url,
             "REGISTRY_JWT_SECRET": settings.jwt_secret, **env},
    )  # fmt: skip


async def test_digests_now_sends_todays_digests_once(settings, session, inbox):
    force = await make_force(session, "staffs")
    owner = await make_person(session, force, name="Owen Owner", email="owen@staffs.police.uk")
    await make_guideline(session, effective_from=clock.now() - timedelta(days=60))
    await make_account(session, force, owner=owner)
    smtp = {"REGISTRY_SMTP_HOST": "127.0.0.1", "REGISTRY_SMTP_PORT": str(settings.smtp_port)}
    done = _registry(settings, "--now", **smtp)
    assert done.returncode == 0, done.stderr
    assert "1 personal" in done.stdout
    assert [m["To"] for m in inbox.take()] == ["owen@staffs.police.uk"]
    again = _registry(settings, "--now", **smtp)
    assert again.returncode == 0 and "0 personal" in again.stdout and inbox.messages == []
    # Without --now nothing is sent; without a relay the command says so and fails.
    assert _registry(settings, **smtp).returncode != 0
    down = _registry(settings, "--now", REGISTRY_SMTP_HOST="")
    assert down.returncode != 0
