"""Webhooks over HTTP: who may keep them, the secret shown once, edits, SSRF refusals."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import make_force
from tests.webhooks.support import API, subscribe


@pytest.fixture
async def forces(session):
    return await make_force(session, "staffs"), await make_force(session, "wmids")


async def test_comms_admin_subscribes_and_the_secret_is_shown_once(
    client, tokens, forces, allow_private
):
    admin = tokens.headers("comms_admin")
    hook = await subscribe(client, admin, "https://hooks.example.org/r", ["request.submitted"])
    assert hook["secret"].startswith("whsec_") and hook["force"] == "staffs"
    assert hook["event_types"] == ["request.submitted"] and hook["active"] is True
    r = await client.get(f"{API}/webhooks/{hook['id']}", headers=admin)
    assert r.status_code == 200 and "secret" not in r.json()
    listed = (await client.get(f"{API}/webhooks", headers=admin)).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    # Rotation shows a new secret, once.
    r = await client.post(f"{API}/webhooks/{hook['id']}/rotate-secret", headers=admin)
    assert r.status_code == 200 and r.json()["secret"] not in (hook["secret"], None)


async def test_webhooks_are_kept_per_force(client, tokens, forces, allow_private):
    hook = await subscribe(
        client, tokens.headers("comms_admin"), "https://a.example.org/", ["hold.placed"]
    )
    other = tokens.headers("comms_admin", force="wmids")
    assert (await client.get(f"{API}/webhooks/{hook['id']}", headers=other)).status_code == 404
    assert (await client.get(f"{API}/webhooks", headers=other)).json()["items"] == []
    r = await client.delete(f"{API}/webhooks/{hook['id']}", headers=other)
    assert r.status_code == 404
    r = await client.post(
        f"{API}/webhooks",
        json={"url": "https://a.example.org/", "event_types": ["*"], "force": "staffs"},
        headers=other,
    )
    assert r.status_code == 422
    for role in ("staff", "psd", "collector"):
        r = await client.get(f"{API}/webhooks", headers=tokens.headers(role))
        assert r.status_code == 403
    auditor = tokens.headers("auditor", force=None)
    assert (await client.get(f"{API}/webhooks", headers=auditor)).status_code == 403
    assert (await client.get(f"{API}/webhooks")).status_code == 401
    national = tokens.headers("admin", force=None)
    listed = (await client.get(f"{API}/webhooks", headers=national)).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    everywhere = await subscribe(client, national, "https://n.example.org/", ["account.*"])
    assert everywhere["force"] is None


async def test_update_needs_if_match_and_delete_removes(client, tokens, forces, allow_private):
    admin = tokens.headers("comms_admin")
    hook = await subscribe(client, admin, "https://a.example.org/", ["hold.placed"])
    url = f"{API}/webhooks/{hook['id']}"
    r = await client.patch(url, json={"active": False}, headers=admin)
    assert r.status_code == 428
    r = await client.patch(url, json={"active": False}, headers={**admin, "If-Match": '"v9"'})
    assert r.status_code == 412
    etag = (await client.get(url, headers=admin)).headers["etag"]
    body = {"active": False, "event_types": ["request.*", "hold.released"]}
    r = await client.patch(url, json=body, headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.json()["event_types"] == body["event_types"]
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404
    r = await client.post(f"{API}/webhooks/{uuid.uuid4()}/ping", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "webhook-not-found"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://a.example.org/", "event_types": ["request.exploded"]},
        {"url": "https://a.example.org/", "event_types": []},
        {"url": "https://a.example.org/", "event_types": ["Request Submitted"]},
        {"url": "https://a.example.org/"},
        {"url": "https://a.example.org/", "event_types": ["*"], "secret": "mine"},
    ],
)
async def test_bad_subscriptions_are_422(client, tokens, forces, allow_private, body):
    r = await client.post(f"{API}/webhooks", json=body, headers=tokens.headers("comms_admin"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/r",
        "https://127.0.0.1/r",
        "https://127.0.0.1:8443/r",
        "https://10.1.2.3/r",
        "https://192.168.0.10/r",
        "https://172.16.5.4/r",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/r",
        "https://[::ffff:10.0.0.1]/r",
        "https://0.0.0.0/r",
        "https://localhost/r",
        "https://user:pw@hooks.example.org/r",
        "ftp://hooks.example.org/r",
    ],
)
async def test_urls_to_internal_addresses_or_without_https_are_refused(client, tokens, forces, url):
    r = await client.post(
        f"{API}/webhooks",
        json={"url": url, "event_types": ["*"]},
        headers=tokens.headers("comms_admin"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "unsafe-webhook-url"
    listed = await client.get(f"{API}/webhooks", headers=tokens.headers("comms_admin"))
    assert listed.json()["items"] == []


async def test_a_name_that_resolves_to_loopback_is_refused(client, tokens, forces):
    import socket

    name = socket.gethostname()  # resolves to a loopback or private address here
    r = await client.post(
        f"{API}/webhooks",
        json={"url": f"https://{name}/r", "event_types": ["*"]},
        headers=tokens.headers("comms_admin"),
    )
    assert r.status_code == 422 and r.json()["code"] == "unsafe-webhook-url", r.text
