from __future__ import annotations

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def allow_private(settings, monkeypatch):
    """Tests' receivers listen on 127.0.0.1 over http (REGISTRY_WEBHOOK_ALLOW_PRIVATE_URLS)."""
    monkeypatch.setattr(settings, "webhook_allow_private_urls", True)
    return settings


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def other_receiver():
    r = Receiver().start()
    yield r
    r.stop()
