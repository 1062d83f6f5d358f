"""scim2-tester's conformance checks against /scim/v2 served by a real uvicorn process."""

from __future__ import annotations

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.conftest import serve
from tests.factories import make_force
from tests.scim.conftest import issue_credential


async def test_scim2_tester_passes_against_a_real_server(client, tokens, session, settings):
    await make_force(session, "staffs")
    secret = (await issue_credential(client, tokens))["secret"]
    with serve(settings) as base:
        http = httpx2.Client(
            base_url=f"{base}/scim/v2", headers={"Authorization": f"Bearer {secret}"}, timeout=30
        )
        scim = SyncSCIMClient(http)
        results = check_server(scim)
        http.close()
    failed = [
        f"{r.title}: {r.reason} {r.data or ''}"[:400]
        for r in results
        if r.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    passed = [r for r in results if r.status == Status.SUCCESS]
    assert not failed, "\n".join(failed)
    print(f"scim2-tester: {len(passed)} checks passed, {len(results) - len(passed)} skipped")
    assert len(passed) >= 20, [r.title for r in results]
