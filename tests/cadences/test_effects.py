"""`start_cadence`: a deal's transition enrols it, checked when the admin saves it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.cadences.support import (
    CADENCES,
    DUE_DAYS,
    account,
    cadence,
    days_from_first_workday,
    deal,
    org,
)
from tests.factories import Member, unique

STEPS = (
    ("open", "Open", "open", True),
    ("review", "Review", "open", False),
    ("won", "Won", "won", False),
)


async def _post(client: httpx.AsyncClient, admin: Member, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"/api/v1{path}", headers=admin.headers, json=body)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()


def _step(workflow: dict[str, Any], key: str) -> str:
    return str(next(s["id"] for s in workflow["steps"] if s["key"] == key))


async def _deal_draft(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    """A draft deal workflow: Open, Review and Won, with only Review → Won (publishing
    needs every step to lead to an end); the tests add Open → Review."""
    flow = await _post(
        client, admin, "/workflow/workflows", {"name": unique("Deals"), "entity_type": "deal"}
    )
    for key, name, category, initial in STEPS:
        status = await _post(
            client, admin, "/workflow/statuses", {"name": unique(name), "category": category}
        )
        flow = await _post(
            client,
            admin,
            f"/workflow/workflows/{flow['id']}/steps",
            {"key": key, "name": name, "status_id": status["id"], "is_initial": initial},
        )
    closing = await _transition(client, admin, flow, "review", "won", [])
    assert closing.status_code == 201, closing.text
    return dict(closing.json())


async def _transition(
    client: httpx.AsyncClient,
    admin: Member,
    workflow: dict[str, Any],
    source: str,
    target: str,
    effects: list[dict[str, Any]],
) -> httpx.Response:
    return await client.post(
        f"/api/v1/workflow/workflows/{workflow['id']}/transitions",
        headers=admin.headers,
        json={
            "from_step_id": _step(workflow, source),
            "to_step_id": _step(workflow, target),
            "label": f"{source} to {target}",
            "effects": effects,
        },
    )


async def _move(
    client: httpx.AsyncClient, member: Member, deal_id: uuid.UUID, to: str, **extra: Any
) -> httpx.Response:
    current = await client.get(f"/api/v1/deals/{deal_id}", headers=member.headers)
    assert current.status_code == 200, current.text
    return await client.post(
        f"/api/v1/deals/{deal_id}/move",
        headers=member.headers,
        json={"to_step_id": to, "version": current.json()["version"], **extra},
    )


async def test_start_cadence_is_checked_at_save_and_enrols_the_moved_deal(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    members = await org(client)
    admin = members.admin
    workflow = await _deal_draft(client, admin)
    template = await cadence(client, admin)
    inactive = await cadence(client, admin, active=False)

    # Saving checks the cadence: it must be one of this organization, and active.
    for config, problem in (
        ({"cadence_id": str(uuid.uuid4())}, "not a cadence of this organization"),
        ({"cadence_id": inactive["id"]}, "inactive"),
        ({"cadence_id": "not-a-uuid"}, None),
    ):
        refused = await _transition(
            client, admin, workflow, "open", "review", [{"name": "start_cadence", "config": config}]
        )
        assert refused.status_code == 422, refused.text
        fields = [error["field"] for error in refused.json()["errors"]]
        assert all(field.startswith("effects[0].config") for field in fields), fields
        if problem:
            assert problem in refused.text
    # Only deals can be enrolled by a transition.
    effects = await client.get(
        "/api/v1/workflow/effects", headers=admin.headers, params={"entity_type": "work_item"}
    )
    assert "start_cadence" not in {e["name"] for e in effects.json()}

    workflow = (
        await _transition(
            client,
            admin,
            workflow,
            "open",
            "review",
            [{"name": "start_cadence", "config": {"cadence_id": template["id"]}}],
        )
    ).json()
    workflow = (
        await _transition(
            client,
            admin,
            workflow,
            "review",
            "open",
            [{"name": "start_cadence", "config": {"cadence_id": None}}],
        )
    ).json()
    workflow = await _post(client, admin, f"/workflow/workflows/{workflow['id']}/publish", {})

    account_id = await account(owner_conn, members.sales, "Initech")
    deal_id = await deal(
        owner_conn,
        members.sales,
        account_id,
        name="Initech deal",
        workflow_id=uuid.UUID(workflow["id"]),
    )

    dry = await _move(client, members.sales, deal_id, _step(workflow, "review"), dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["effects"] == [
        {"name": "start_cadence", "description": f"start cadence {template['name']}"}
    ]
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM cadence_enrollments WHERE deal_id = $1", deal_id
        )
        == 0
    )

    moved = await _move(client, members.sales, deal_id, _step(workflow, "review"))
    assert moved.status_code == 200, moved.text
    enrolment = await owner_conn.fetchrow(
        "SELECT * FROM cadence_enrollments WHERE deal_id = $1", deal_id
    )
    assert enrolment is not None
    assert str(enrolment["cadence_id"]) == template["id"]
    assert enrolment["status"] == "active"
    planned = await owner_conn.fetch(
        "SELECT * FROM activities WHERE enrollment_id = $1 ORDER BY id", enrolment["id"]
    )
    assert [days_from_first_workday(row["due_at"]) for row in planned] == DUE_DAYS
    assert {row["owner_id"] for row in planned} == {members.sales.user_id}
    assert planned[1]["subject"] == "Email about Initech deal"

    # Back (the default cadence starts) and forth again: the deal is already enrolled
    # live in the named cadence, so the move succeeds and enrols nothing new.
    back = await _move(client, members.sales, deal_id, _step(workflow, "open"))
    assert back.status_code == 200, back.text
    forth = await _move(client, members.sales, deal_id, _step(workflow, "review"))
    assert forth.status_code == 200, forth.text
    rows = await owner_conn.fetch(
        "SELECT c.name, e.status FROM cadence_enrollments e"
        " JOIN cadences c ON c.tenant_id = e.tenant_id AND c.id = e.cadence_id"
        " WHERE e.deal_id = $1 ORDER BY e.id",
        deal_id,
    )
    assert [(row["name"], row["status"]) for row in rows] == [
        (template["name"], "active"),
        ("Lead follow-up", "active"),
    ]
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM activities WHERE deal_id = $1 AND enrollment_id IS NOT NULL",
            deal_id,
        )
        == 10
    )


async def test_a_cadence_gone_inactive_refuses_the_move(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    members = await org(client)
    admin = members.admin
    workflow = await _deal_draft(client, admin)
    template = await cadence(client, admin)
    workflow = (
        await _transition(
            client,
            admin,
            workflow,
            "open",
            "review",
            [{"name": "start_cadence", "config": {"cadence_id": template["id"]}}],
        )
    ).json()
    workflow = await _post(client, admin, f"/workflow/workflows/{workflow['id']}/publish", {})
    deactivated = await client.patch(
        f"{CADENCES}/{template['id']}", headers=admin.headers, json={"active": False, "version": 1}
    )
    assert deactivated.status_code == 200, deactivated.text

    account_id = await account(owner_conn, members.sales)
    deal_id = await deal(
        owner_conn, members.sales, account_id, workflow_id=uuid.UUID(workflow["id"])
    )
    refused = await _move(client, members.sales, deal_id, _step(workflow, "review"))
    assert refused.status_code == 422, refused.text
    # All or nothing: the deal did not move either.
    step = await owner_conn.fetchval("SELECT step_id FROM deals WHERE id = $1", deal_id)
    assert str(step) == _step(workflow, "open")
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM cadence_enrollments WHERE deal_id = $1", deal_id
        )
        == 0
    )
