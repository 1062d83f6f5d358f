from __future__ import annotations

import sqlalchemy as sa

from app.models import OutboxEvent, WebhookDelivery

API = "/api/v1"


async def subscribe(client, headers, url, types, **extra):
    r = await client.post(
        f"{API}/webhooks", json={"url": url, "event_types": types, **extra}, headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def place_hold(client, tokens, account, force="staffs"):
    r = await client.post(
        f"{API}/accounts/{account.id}/holds",
        json={"case_reference": "PSD/1", "reason": "r"},
        headers=tokens.headers("psd", force=force),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def event_ids(session, type=None):
    query = sa.select(OutboxEvent.id)
    if type is not None:
        query = query.where(OutboxEvent.type == type)
    found = {str(i) for i in (await session.scalars(query)).all()}
    await session.commit()
    return found


async def deliveries(session):
    query = sa.select(WebhookDelivery).execution_options(populate_existing=True)
    found = list((await session.scalars(query)).all())
    await session.commit()
    return found
