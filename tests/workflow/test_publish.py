"""Publishing refuses a workflow that would strand records (defect 9 of issue 14).

Through the admin API on a real database: a step no transition leads to, or a step
from which no final step can be reached, is a 422 naming the steps in words and by
key; nothing is published. Every workflow an organization starts with publishes.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tests.factories import Member, register_tenant, unique

API = "/api/v1/workflow"


async def _post(client: httpx.AsyncClient, admin: Member, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"{API}{path}", headers=admin.headers, json=body)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()


async def _draft(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    """Prospecting (initial) → Discovery, and Won that nothing leads to yet."""
    flow = await _post(
        client, admin, "/workflows", {"name": unique("Deals"), "entity_type": "work_item"}
    )
    for key, name, category, initial in (
        ("prospecting", "Prospecting", "open", True),
        ("discovery", "Discovery", "open", False),
        ("won", "Won", "won", False),
    ):
        status = await _post(
            client, admin, "/statuses", {"name": unique(name), "category": category}
        )
        flow = await _post(
            client,
            admin,
            f"/workflows/{flow['id']}/steps",
            {"key": key, "name": name, "status_id": status["id"], "is_initial": initial},
        )
    return await _connect(client, admin, flow, "prospecting", "discovery")


def _step(workflow: dict[str, Any], key: str) -> str:
    return str(next(s["id"] for s in workflow["steps"] if s["key"] == key))


async def _connect(
    client: httpx.AsyncClient, admin: Member, flow: dict[str, Any], source: str, target: str
) -> dict[str, Any]:
    body = {
        "from_step_id": _step(flow, source),
        "to_step_id": _step(flow, target),
        "label": f"{source} to {target}",
    }
    connected: dict[str, Any] = await _post(
        client, admin, f"/workflows/{flow['id']}/transitions", body
    )
    return connected


async def _publish(
    client: httpx.AsyncClient, admin: Member, flow: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"{API}/workflows/{flow['id']}/publish", headers=admin.headers)


async def test_a_step_nothing_leads_to_is_refused_by_name(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    flow = await _draft(client, admin)
    refused = await _publish(client, admin, flow)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["type"].endswith("/rule-violation")
    assert body["detail"].startswith("These steps cannot be reached from Prospecting: Won.")
    # Won cannot be reached, and from Prospecting and Discovery it cannot be reached
    # either: both problems, one entry per step.
    assert body["errors"] == [
        {"field": "steps.won", "message": "cannot be reached from Prospecting"},
        {"field": "steps.prospecting", "message": "cannot reach a final step"},
        {"field": "steps.discovery", "message": "cannot reach a final step"},
    ]
    assert (
        "From these steps no final step can be reached: Prospecting, Discovery." in (body["detail"])
    )
    stored = await owner_conn.fetchrow(
        "SELECT published, archived FROM workflows WHERE id = $1::uuid", flow["id"]
    )
    assert (stored["published"], stored["archived"]) == (False, False)


async def test_a_step_that_cannot_end_is_refused_by_name(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    flow = await _draft(client, admin)
    flow = await _connect(client, admin, flow, "prospecting", "won")
    # Every step can be reached now, but a record in Discovery could never end.
    refused = await _publish(client, admin, flow)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["detail"] == (
        "From these steps no final step can be reached: Discovery. "
        "Add a transition that leads on to a won, lost or final step."
    )
    assert body["errors"] == [{"field": "steps.discovery", "message": "cannot reach a final step"}]

    flow = await _connect(client, admin, flow, "discovery", "won")
    published = await _publish(client, admin, flow)
    assert published.status_code == 200, published.text
    assert published.json()["published"] is True


async def test_a_workflow_without_a_final_step_says_so(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    flow = await _post(
        client, admin, "/workflows", {"name": unique("Loop"), "entity_type": "work_item"}
    )
    status = await _post(client, admin, "/statuses", {"name": unique("Todo"), "category": "open"})
    flow = await _post(
        client,
        admin,
        f"/workflows/{flow['id']}/steps",
        {"key": "todo", "name": "To do", "status_id": status["id"], "is_initial": True},
    )
    refused = await _publish(client, admin, flow)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        "No step ends this workflow: give a step a won or lost status, or mark it final."
    )
    # A parked step flagged final ends it too (the support ticket's "Closed").
    parked = await _post(
        client, admin, "/statuses", {"name": unique("Shelved"), "category": "parked"}
    )
    flow = await _post(
        client,
        admin,
        f"/workflows/{flow['id']}/steps",
        {"key": "shelved", "name": "Shelved", "status_id": parked["id"], "is_final": True},
    )
    flow = await _connect(client, admin, flow, "todo", "shelved")
    published = await _publish(client, admin, flow)
    assert published.status_code == 200, published.text


async def test_every_workflow_an_organization_starts_with_publishes(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    listed = (await client.get(f"{API}/workflows", headers=admin.headers)).json()
    assert {w["name"] for w in listed} >= {"Lead triage", "Sales pipeline", "Target prospecting"}
    for summary in listed:
        seeded = (
            await client.get(f"{API}/workflows/{summary['id']}", headers=admin.headers)
        ).json()
        order = [s["id"] for s in sorted(seeded["steps"], key=lambda s: s["order"])]
        # Saving the same order is an edit: it copies the version into a draft.
        draft = await client.put(
            f"{API}/workflows/{seeded['id']}/step-order",
            headers=admin.headers,
            json={"step_ids": order},
        )
        assert draft.status_code == 200, draft.text
        published = await _publish(client, admin, draft.json())
        assert published.status_code == 200, (seeded["name"], published.text)
