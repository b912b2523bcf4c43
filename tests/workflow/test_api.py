"""Reading workflows: steps and transitions, allowed transitions per role, isolation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import add_member, register_tenant


async def _pipeline(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    listed = (await client.get("/api/v1/workflow/workflows", headers=headers)).json()
    pipeline = next(w for w in listed if w["entity_type"] == "deal")
    detail = await client.get(f"/api/v1/workflow/workflows/{pipeline['id']}", headers=headers)
    assert detail.status_code == 200
    body: dict[str, Any] = detail.json()
    return body


async def test_workflow_detail_lists_steps_in_order_and_transitions(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    pipeline = await _pipeline(client, admin.headers)
    assert [s["key"] for s in pipeline["steps"]] == [
        "prospecting",
        "discovery",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
    assert [s["order"] for s in pipeline["steps"]] == list(range(6))
    proposal = pipeline["steps"][2]
    assert proposal["metadata"]["required_fields"] == ["amount", "expected_close_date"]
    assert proposal["probability"] == 50
    assert pipeline["steps"][4]["category"] == "won"
    assert len(pipeline["transitions"]) == 11


async def test_allowed_transitions_say_what_each_option_requires(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")  # reading is open to every role
    pipeline = await _pipeline(client, viewer.headers)
    steps = {s["key"]: s["id"] for s in pipeline["steps"]}
    url = f"/api/v1/workflow/workflows/{pipeline['id']}/allowed-transitions"
    options = (
        await client.get(url, params={"from_step_id": steps["negotiation"]}, headers=viewer.headers)
    ).json()
    by_key = {o["to_step_key"]: o for o in options}
    assert set(by_key) == {"proposal", "won", "lost"}
    assert by_key["won"]["reason_required"] is True
    assert "other" in by_key["won"]["notes_required_for"]
    assert by_key["proposal"]["backwards"] is True
    from_prospecting = (
        await client.get(url, params={"from_step_id": steps["prospecting"]}, headers=admin.headers)
    ).json()
    assert {o["to_step_key"] for o in from_prospecting} == {"discovery", "lost"}
    foreign = await client.get(
        url, params={"from_step_id": str(admin.user_id)}, headers=admin.headers
    )
    assert foreign.status_code == 422


async def test_another_tenants_workflow_is_404(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    stranger = await register_tenant(client)
    pipeline = await _pipeline(client, admin.headers)
    response = await client.get(
        f"/api/v1/workflow/workflows/{pipeline['id']}", headers=stranger.headers
    )
    assert response.status_code == 404
    types = (await client.get("/api/v1/workflow/project-types", headers=stranger.headers)).json()
    assert {t["name"] for t in types} == {"Lead", "Deal", "Target", "Support Ticket"}
    statuses = (await client.get("/api/v1/workflow/statuses", headers=admin.headers)).json()
    assert {"New", "Won", "Lost", "Dropped"} <= {s["name"] for s in statuses}


async def test_stage_analytics_from_the_history_ledger(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    types = (await client.get("/api/v1/workflow/project-types", headers=admin.headers)).json()
    ticket = next(t for t in types if t["name"] == "Support Ticket")
    flow = (
        await client.get(
            f"/api/v1/workflow/workflows/{ticket['default_workflow_id']}", headers=admin.headers
        )
    ).json()
    steps = {s["key"]: s["id"] for s in flow["steps"]}
    items = []
    for n in range(4):
        created = await client.post(
            "/api/v1/work-items",
            headers=admin.headers,
            json={"project_type_id": ticket["id"], "name": f"T{n}"},
        )
        items.append(created.json())
    version = {}
    for item in items[:3]:  # three start work; one of them goes back to the queue
        moved = await client.post(
            f"/api/v1/work-items/{item['id']}/move",
            headers=admin.headers,
            json={"to_step_id": steps["in_progress"], "version": 1},
        )
        version[item["id"]] = moved.json()["item"]["version"]
    await client.post(
        f"/api/v1/work-items/{items[0]['id']}/move",
        headers=admin.headers,
        json={"to_step_id": steps["open"], "version": version[items[0]["id"]]},
    )
    report = await client.get(
        f"/api/v1/workflow/workflows/{ticket['default_workflow_id']}/analytics",
        headers=admin.headers,
    )
    assert report.status_code == 200, report.text
    by_key = {s["key"]: s for s in report.json()["steps"]}
    assert by_key["open"]["entries"] == 5  # 4 created + 1 sent back
    assert by_key["open"]["exits"] == 3
    assert by_key["open"]["conversion_to_next"] == 3 / 5
    assert by_key["open"]["median_seconds_in_step"] >= 0
    assert by_key["in_progress"]["entries"] == 3
    assert by_key["in_progress"]["backwards_moves"] == 1
    assert by_key["closed"]["entries"] == 0
    assert by_key["closed"]["conversion_to_next"] is None
    naive = await client.get(
        f"/api/v1/workflow/workflows/{ticket['default_workflow_id']}/analytics",
        headers=admin.headers,
        params={"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00"},
    )
    assert naive.status_code == 422
