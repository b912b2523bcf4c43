"""`/api/v1/webhooks` and `/api/v1/webhook-deliveries`: admins only, each organization
its own endpoints, the secret shown once, versions checked, event names checked."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from baton.config import Settings
from baton.db.engine import Database
from baton.webhooks.delivery import pump
from tests.factories import add_member, register_tenant
from tests.webhooks.receiver import receiving
from tests.webhooks.support import add_endpoint, emit_one

URL = "https://hooks.example.com/baton"


async def test_an_admin_registers_reads_changes_and_deletes_an_endpoint(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    created = await add_endpoint(client, admin, URL, ["deal.moved", "lead.claimed"])
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True
    assert created["events"] == ["deal.moved", "lead.claimed"]
    assert created["version"] == 1
    path = f"/api/v1/webhooks/{created['id']}"
    shown = (await client.get(path, headers=admin.headers)).json()
    assert "secret" not in shown
    listed = (await client.get("/api/v1/webhooks", headers=admin.headers)).json()
    assert [e["id"] for e in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]

    stale = await client.patch(
        path, headers={**admin.headers, "If-Match": "7"}, json={"events": ["*"]}
    )
    assert stale.status_code == 409
    missing = await client.patch(path, headers=admin.headers, json={"events": ["*"]})
    assert missing.status_code == 422
    changed = await client.patch(
        path, headers=admin.headers, json={"events": ["*"], "enabled": False, "version": 1}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["*"]
    assert changed.json()["enabled"] is False
    assert changed.json()["version"] == 2

    assert (
        await client.delete(path, headers=admin.headers, params={"version": 1})
    ).status_code == 409
    deleted = await client.delete(path, headers={**admin.headers, "If-Match": "2"})
    assert deleted.status_code == 204
    assert (await client.get(path, headers=admin.headers)).status_code == 404


async def test_unknown_event_names_are_422_naming_them(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    answer = await client.post(
        "/api/v1/webhooks",
        headers=admin.headers,
        json={"url": URL, "events": ["deal.moved", "deal.exploded", "lead.eaten"]},
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert "deal.exploded" in problem["detail"]
    assert "lead.eaten" in problem["detail"]
    assert "deal.moved" not in problem["detail"]
    mixed = await client.post(
        "/api/v1/webhooks", headers=admin.headers, json={"url": URL, "events": ["*", "deal.moved"]}
    )
    assert mixed.status_code == 422
    empty = await client.post(
        "/api/v1/webhooks", headers=admin.headers, json={"url": URL, "events": []}
    )
    assert empty.status_code == 422
    types = await client.get("/api/v1/webhooks/event-types", headers=admin.headers)
    assert "deal.moved" in types.json()["items"]


@pytest.mark.parametrize("url", ["ftp://example.com/x", "https://", "http://user:pw@example.com/"])
async def test_a_url_the_worker_would_not_call_is_422(client: httpx.AsyncClient, url: str) -> None:
    admin = await register_tenant(client)
    answer = await client.post(
        "/api/v1/webhooks", headers=admin.headers, json={"url": url, "events": ["*"]}
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "url"


async def test_private_addresses_are_refused_when_not_allowed(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    from baton.core.errors import ValidationFailed
    from baton.webhooks import service
    from baton.webhooks.schemas import EndpointIn
    from tests.conftest import make_settings
    from tests.jobs.support import unit_of_work

    admin = await register_tenant(client)
    strict = make_settings(settings, webhook_allow_private=False)
    for url in (
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://localhost:8000/x",
    ):
        with pytest.raises(ValidationFailed):
            async with unit_of_work(database, strict, admin) as ctx:
                await service.create_endpoint(ctx, EndpointIn(url=url, events=["*"]))
    async with unit_of_work(database, strict, admin) as ctx:
        row, _ = await service.create_endpoint(ctx, EndpointIn(url=URL, events=["*"]))
    assert row.url == URL


@pytest.mark.parametrize("role", ["manager", "marketing", "sales", "viewer"])
async def test_only_admins_manage_webhooks(client: httpx.AsyncClient, role: str) -> None:
    admin = await register_tenant(client)
    member = await add_member(client, admin, role)
    endpoint = await add_endpoint(client, admin, URL)
    path = f"/api/v1/webhooks/{endpoint['id']}"
    assert (await client.get("/api/v1/webhooks", headers=member.headers)).status_code == 403
    assert (await client.get(path, headers=member.headers)).status_code == 403
    refused = await client.post(
        "/api/v1/webhooks", headers=member.headers, json={"url": URL, "events": ["*"]}
    )
    assert refused.status_code == 403
    assert (await client.post(f"{path}/ping", headers=member.headers)).status_code == 403
    assert (await client.get(f"{path}/deliveries", headers=member.headers)).status_code == 403


async def test_another_organizations_endpoint_and_delivery_are_404(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    stranger = await register_tenant(client)
    endpoint = await add_endpoint(client, admin, URL)
    ping = await client.post(f"/api/v1/webhooks/{endpoint['id']}/ping", headers=admin.headers)
    assert ping.status_code == 202
    path = f"/api/v1/webhooks/{endpoint['id']}"
    assert (await client.get(path, headers=stranger.headers)).status_code == 404
    patched = await client.patch(
        path, headers=stranger.headers, json={"version": 1, "enabled": False}
    )
    assert patched.status_code == 404
    assert (
        await client.delete(path, headers={**stranger.headers, "If-Match": "1"})
    ).status_code == 404
    assert (await client.post(f"{path}/ping", headers=stranger.headers)).status_code == 404
    assert (await client.get(f"{path}/deliveries", headers=stranger.headers)).status_code == 404
    redeliver = await client.post(
        f"/api/v1/webhook-deliveries/{ping.json()['id']}/redeliver", headers=stranger.headers
    )
    assert redeliver.status_code == 404
    missing = await client.post(
        f"/api/v1/webhook-deliveries/{uuid.uuid4()}/redeliver", headers=admin.headers
    )
    assert missing.status_code == 404


async def test_ping_and_redeliver_send_with_the_same_webhook_id(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    async with receiving(200) as receiver:
        endpoint = await add_endpoint(client, admin, receiver.url)
        path = f"/api/v1/webhooks/{endpoint['id']}"
        ping = await client.post(f"{path}/ping", headers=admin.headers)
        assert ping.status_code == 202, ping.text
        assert ping.json()["event_type"] == "webhook.ping"
        assert ping.json()["status"] == "pending"
        event_id = await emit_one(database, settings, admin)
        await pump(database, settings)
        log = (await client.get(f"{path}/deliveries", headers=admin.headers)).json()["items"]
        assert [d["status"] for d in log] == ["delivered", "delivered"]
        assert all(d["response_status"] == 200 and d["latency_ms"] is not None for d in log)
        first = next(d for d in log if d["event_id"] == str(event_id))
        again = await client.post(
            f"/api/v1/webhook-deliveries/{first['id']}/redeliver", headers=admin.headers
        )
        assert again.status_code == 202, again.text
        assert again.json()["id"] != first["id"]
        await pump(database, settings)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids.count(str(event_id)) == 2
    assert ids[0] == ping.json()["event_id"]
    paged = await client.get(f"{path}/deliveries", headers=admin.headers, params={"limit": 1})
    assert len(paged.json()["items"]) == 1
    assert paged.json()["next_cursor"] is not None

    disabled = await client.patch(
        path, headers=admin.headers, json={"enabled": False, "version": 1}
    )
    assert disabled.status_code == 200
    assert (await client.post(f"{path}/ping", headers=admin.headers)).status_code == 409
    refused = await client.post(
        f"/api/v1/webhook-deliveries/{first['id']}/redeliver", headers=admin.headers
    )
    assert refused.status_code == 409
