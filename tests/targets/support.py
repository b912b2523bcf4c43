"""Test data for targets, through the API; step paths to put a target in any status."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.factories import Member

# The default target-prospecting workflow (DESIGN §4).
STATUSES = ("new_target", "contacted", "engaged", "qualified", "converted", "dropped")
FORWARD = ("new_target", "contacted", "engaged", "qualified")


async def create_target(client: httpx.AsyncClient, member: Member, **fields: Any) -> dict[str, Any]:
    body = {"company_name": f"Acme {uuid.uuid4().hex[:8]}", **fields}
    response = await client.post("/api/v1/targets", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    target: dict[str, Any] = response.json()
    return target


async def set_status(
    client: httpx.AsyncClient, member: Member, target: dict[str, Any], status: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/targets/{target['id']}/status",
        headers=member.headers,
        json={"status": status, "version": target["version"], **extra},
    )


async def bring_to(
    client: httpx.AsyncClient, member: Member, target: dict[str, Any], status: str
) -> dict[str, Any]:
    """Walk a new target to `status` along the default workflow's transitions."""
    if status in FORWARD:
        for key in FORWARD[1 : FORWARD.index(status) + 1]:
            response = await set_status(client, member, target, key)
            assert response.status_code == 200, response.text
            target = response.json()
        return target
    if status == "dropped":
        response = await set_status(client, member, target, "dropped", reason="no_budget")
        assert response.status_code == 200, response.text
        dropped: dict[str, Any] = response.json()
        return dropped
    assert status == "converted"
    target = await bring_to(client, member, target, "qualified")
    response = await client.post(f"/api/v1/targets/{target['id']}/convert", headers=member.headers)
    assert response.status_code == 200, response.text
    converted: dict[str, Any] = response.json()["target"]
    return converted


async def get_target(client: httpx.AsyncClient, member: Member, target_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/targets/{target_id}", headers=member.headers)
    assert response.status_code == 200, response.text
    target: dict[str, Any] = response.json()
    return target
