"""Fixtures shared by the account API tests: the two forces they work in."""

from __future__ import annotations

import pytest

from tests.factories import make_force


@pytest.fixture
async def staffs(session):
    return await make_force(session, "staffs")


@pytest.fixture
async def wmids(session):
    return await make_force(session, "wmids")
