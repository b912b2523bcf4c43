"""POST /api/v1/targets/{id}/restore: the undo of a delete, with its planned work."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from tests.factories import add_member, register_tenant
from tests.targets.support import create_target


async def test_a_deleted_target_comes_back_with_its_planned_activities(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    target = await create_target(client, admin)
    activity_id = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO activities (tenant_id, id, type, status, subject, owner_id, target_id)"
        " VALUES ($1, $2, 'call', 'planned', 'Call them', $3, $4)",
        admin.tenant_id,
        activity_id,
        admin.user_id,
        uuid.UUID(target["id"]),
    )
    deleted = await client.delete(
        f"/api/v1/targets/{target['id']}?version={target['version']}", headers=admin.headers
    )
    assert deleted.status_code == 204
    taken = await owner_conn.fetchval(
        "SELECT deleted_at IS NOT NULL FROM activities WHERE id = $1", activity_id
    )
    assert taken
    assert (
        await client.get(f"/api/v1/targets/{target['id']}", headers=admin.headers)
    ).status_code == 404

    restored = await client.post(f"/api/v1/targets/{target['id']}/restore", headers=admin.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "new_target"
    planned = await owner_conn.fetchval(
        "SELECT deleted_at IS NULL FROM activities WHERE id = $1", activity_id
    )
    assert planned

    # Live now: not deleted (409); a viewer (403); another organization (404).
    again = await client.post(f"/api/v1/targets/{target['id']}/restore", headers=admin.headers)
    assert again.status_code == 409
    viewer = await add_member(client, admin, "viewer")
    refused = await client.post(f"/api/v1/targets/{target['id']}/restore", headers=viewer.headers)
    assert refused.status_code == 403
    stranger = await register_tenant(client)
    hidden = await client.post(f"/api/v1/targets/{target['id']}/restore", headers=stranger.headers)
    assert hidden.status_code == 404


async def test_a_live_twin_keeps_the_deleted_target_deleted(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    target = await create_target(client, admin, email="ops@twin.example")
    await client.delete(
        f"/api/v1/targets/{target['id']}?version={target['version']}", headers=admin.headers
    )
    twin = await create_target(client, admin, email="ops@twin.example")
    response = await client.post(f"/api/v1/targets/{target['id']}/restore", headers=admin.headers)
    assert response.status_code == 409, response.text
    assert twin["id"] in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "email"
