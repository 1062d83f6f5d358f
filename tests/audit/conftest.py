from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.audit.service import write_key
from app.audit.verifier import Signer
from app.config import Settings
from app.db import Database
from app.main import create_app


@pytest.fixture
def signer_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit.key"
    write_key(path, "registry.test/audit")
    return path


@pytest.fixture
def signer(signer_file: Path) -> Signer:
    return Signer.parse(signer_file.read_text())


@pytest.fixture
def signed_settings(settings: Settings, signer_file: Path, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "audit_signing_key_file": str(signer_file),
            "audit_checkpoint_log": str(tmp_path / "checkpoints.log"),
        }
    )


@pytest.fixture
async def signed_client(
    signed_settings: Settings, db: Database, app
) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    # `app` first: its teardown empties the database after every test.
    application = create_app(signed_settings, database=db)
    transport = httpx.ASGITransport(app=application, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
