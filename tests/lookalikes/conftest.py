from __future__ import annotations

import pytest

from tests.factories import make_account, make_force


@pytest.fixture
async def official(session):
    """Two forces and their public accounts, plus accounts that must never be named."""
    staffs = await make_force(session, "staffs", name="Staffordshire Police")
    wmids = await make_force(session, "wmids", name="West Midlands Police")
    accounts = {}
    for force, platform, handle, classification, status in [
        (staffs, "x", "staffspolice", "corporate", "active"),
        (staffs, "x", "staffspoldogs", "official", "active"),
        (staffs, "instagram", "staffspolice", "corporate", "active"),
        (wmids, "x", "wmpolice", "corporate", "active"),
        # Never a look-alike answer:
        (staffs, "x", "staffspolicehq", "unofficial", "active"),
        (staffs, "x", "staffspolicenew", "official", "pending_approval"),
        (staffs, "x", "staffspoliceold", "official", "decommissioned"),
        (wmids, "x", "wmpolicearchive", "official", "suspended"),
    ]:
        accounts[(platform, handle)] = await make_account(
            session, force, platform=platform, handle=handle, classification=classification,
            status=status, display_name=f"{force.name} {handle}",
            url=f"https://{'x' if platform == 'x' else 'www.' + platform}.com/{handle}",
        )  # fmt: skip
    await session.commit()
    return accounts
