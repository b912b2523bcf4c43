"""Work items through the API: created at the initial step, moved only along transitions."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Member, add_member, register_tenant


async def _support_ticket_type(
    client: httpx.AsyncClient, admin: Member, owner_conn: asyncpg.Connection
) -> uuid.UUID:
    project_type = await owner_conn.fetchval(
        "SELECT id FROM project_types WHERE tenant_id = $1 AND name = 'Support Ticket'",
        admin.tenant_id,
    )
    assert project_type is not None
    return project_type


async def _steps(owner_conn: asyncpg.Connection, admin: Member) -> dict[str, uuid.UUID]:
    rows = await owner_conn.fetch(
        "SELECT s.key, s.id FROM workflow_steps s JOIN workflows w ON w.tenant_id = s.tenant_id"
        " AND w.id = s.workflow_id WHERE s.tenant_id = $1 AND w.name = 'Support ticket'",
        admin.tenant_id,
    )
    return {r["key"]: r["id"] for r in rows}


@pytest.fixture
async def ticket(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> dict[str, Any]:
    admin = await register_tenant(client)
    project_type = await _support_ticket_type(client, admin, owner_conn)
    created = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": str(project_type), "name": "Printer on fire"},
    )
    assert created.status_code == 201, created.text
    return {"admin": admin, "item": created.json(), "steps": await _steps(owner_conn, admin)}


async def _move(
    client: httpx.AsyncClient, member: Member, item: dict[str, Any], to: uuid.UUID, **extra: Any
) -> httpx.Response:
    body = {"to_step_id": str(to), "version": item["version"], **extra}
    return await client.post(
        f"/api/v1/work-items/{item['id']}/move", headers=member.headers, json=body
    )


async def test_registration_seeds_the_default_workflows(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    workflows = await owner_conn.fetch(
        "SELECT name, entity_type, revision, published FROM workflows WHERE tenant_id = $1 ORDER BY name",
        admin.tenant_id,
    )
    assert [(w["name"], w["entity_type"]) for w in workflows] == [
        ("Lead triage", "lead"),
        ("Sales pipeline", "deal"),
        ("Support ticket", "work_item"),
        ("Target prospecting", "target"),
    ]
    assert all(w["revision"] == 1 and w["published"] for w in workflows)
    initial = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_steps WHERE tenant_id = $1 AND is_initial", admin.tenant_id
    )
    assert initial == 4
    jump = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_transitions t JOIN workflow_steps a ON a.id = t.from_step_id"
        " JOIN workflow_steps b ON b.id = t.to_step_id WHERE t.tenant_id = $1"
        " AND a.key = 'prospecting' AND b.key = 'won'",
        admin.tenant_id,
    )
    assert jump == 0


async def test_a_new_item_starts_at_the_initial_step_with_history(
    client: httpx.AsyncClient, ticket: dict[str, Any]
) -> None:
    item = ticket["item"]
    assert item["step"]["key"] == "open"
    assert item["version"] == 1
    history = await client.get(
        f"/api/v1/work-items/{item['id']}/history", headers=ticket["admin"].headers
    )
    assert history.status_code == 200
    entries = history.json()
    assert len(entries) == 1
    assert entries[0]["from_step"] is None
    assert entries[0]["to_step"]["key"] == "open"
    assert entries[0]["actor_id"] == str(ticket["admin"].user_id)


async def test_moves_follow_transitions_and_write_history(
    client: httpx.AsyncClient, ticket: dict[str, Any]
) -> None:
    admin, item, steps = ticket["admin"], ticket["item"], ticket["steps"]
    started = await _move(client, admin, item, steps["in_progress"])
    assert started.status_code == 200, started.text
    moved = started.json()
    assert moved["item"]["step"]["key"] == "in_progress"
    assert moved["item"]["version"] == 2
    assert moved["backwards"] is False
    back = await _move(client, admin, moved["item"], steps["open"], reason="customer_reply")
    assert back.json()["backwards"] is True
    history = (
        await client.get(f"/api/v1/work-items/{item['id']}/history", headers=admin.headers)
    ).json()
    assert [(h["from_step"] and h["from_step"]["key"], h["to_step"]["key"]) for h in history] == [
        (None, "open"),
        ("open", "in_progress"),
        ("in_progress", "open"),
    ]
    assert history[2]["backwards"] is True
    assert history[2]["reason"] == "customer_reply"
    assert history[1]["seconds_in_previous_step"] >= 0


async def test_an_invalid_transition_is_422_and_changes_nothing(
    client: httpx.AsyncClient, ticket: dict[str, Any]
) -> None:
    admin, item, steps = ticket["admin"], ticket["item"], ticket["steps"]
    jump = await _move(client, admin, item, steps["closed"])
    assert jump.status_code == 422
    problem = jump.json()
    assert problem["type"].endswith("/transition-rejected")
    assert problem["errors"][0]["field"] == "to_step_id"
    assert "Open" in problem["errors"][0]["message"]
    assert "Closed" in problem["errors"][0]["message"]
    current = (await client.get(f"/api/v1/work-items/{item['id']}", headers=admin.headers)).json()
    assert current["step"]["key"] == "open"
    assert current["version"] == 1


async def test_required_fields_dry_run_and_stale_version(
    client: httpx.AsyncClient, ticket: dict[str, Any], owner_conn: asyncpg.Connection
) -> None:
    admin, item, steps = ticket["admin"], ticket["item"], ticket["steps"]
    item = (await _move(client, admin, item, steps["in_progress"])).json()["item"]
    missing = await _move(client, admin, item, steps["resolved"])
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {"field": "fields.resolution", "message": missing.json()["errors"][0]["message"]}
    ]
    before = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1", uuid.UUID(item["id"])
    )
    dry = await _move(
        client, admin, item, steps["resolved"], fields={"resolution": "Rebooted"}, dry_run=True
    )
    assert dry.status_code == 200
    assert dry.json()["dry_run"] is True
    assert dry.json()["to_step"]["key"] == "resolved"
    after = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1", uuid.UUID(item["id"])
    )
    assert after == before
    assert (await client.get(f"/api/v1/work-items/{item['id']}", headers=admin.headers)).json()[
        "step"
    ]["key"] == "in_progress"
    stale = await _move(
        client, admin, {**item, "version": 1}, steps["resolved"], fields={"resolution": "x"}
    )
    assert stale.status_code == 409
    done = await _move(client, admin, item, steps["resolved"], fields={"resolution": "Rebooted"})
    assert done.status_code == 200
    assert done.json()["item"]["fields"] == {"resolution": "Rebooted"}


async def test_viewers_cannot_create_or_move_and_other_tenants_see_404(
    client: httpx.AsyncClient, ticket: dict[str, Any]
) -> None:
    admin, item, steps = ticket["admin"], ticket["item"], ticket["steps"]
    viewer = await add_member(client, admin, "viewer")
    refused = await _move(client, viewer, item, steps["in_progress"])
    assert refused.status_code == 403
    stranger = await register_tenant(client)
    for response in (
        await client.get(f"/api/v1/work-items/{item['id']}", headers=stranger.headers),
        await _move(client, stranger, item, steps["in_progress"]),
        await client.get(f"/api/v1/work-items/{item['id']}/history", headers=stranger.headers),
    ):
        assert response.status_code == 404
    foreign_type = await client.post(
        "/api/v1/work-items",
        headers=stranger.headers,
        json={"project_type_id": item["project_type_id"], "name": "x"},
    )
    assert foreign_type.status_code == 404


async def test_concurrent_moves_of_one_item_exactly_one_wins(
    client: httpx.AsyncClient, ticket: dict[str, Any], owner_conn: asyncpg.Connection
) -> None:
    import asyncio

    admin, item, steps = ticket["admin"], ticket["item"], ticket["steps"]
    results = await asyncio.gather(
        *(_move(client, admin, item, steps["in_progress"]) for _ in range(4))
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409, 409, 409]
    moves = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1 AND from_step_id IS NOT NULL",
        uuid.UUID(item["id"]),
    )
    assert moves == 1


async def test_list_and_board_in_a_constant_number_of_statements(
    client: httpx.AsyncClient, ticket: dict[str, Any], database: Any
) -> None:
    from tests.identity.test_statement_counts import counted

    admin, item, steps = ticket["admin"], ticket["item"], ticket["steps"]
    for n in range(5):
        await client.post(
            "/api/v1/work-items",
            headers=admin.headers,
            json={"project_type_id": item["project_type_id"], "name": f"More {n}"},
        )
    await _move(client, admin, item, steps["in_progress"])
    with counted(database) as statements:
        board = await client.get(
            "/api/v1/work-items/board",
            headers=admin.headers,
            params={"workflow_id": item["workflow_id"], "per_column": 2},
        )
    assert board.status_code == 200
    columns = {c["step"]["key"]: c for c in board.json()["columns"]}
    assert list(columns) == ["open", "in_progress", "resolved", "closed"]
    assert columns["open"]["count"] == 5
    assert len(columns["open"]["items"]) == 2
    assert [i["id"] for i in columns["in_progress"]["items"]] == [item["id"]]
    assert (columns["closed"]["count"], columns["closed"]["items"]) == (0, [])
    # authenticate, workflow version (compiled graph cached), counts, cards
    assert len(statements) == 4, statements
    with counted(database) as listed_statements:
        listed = await client.get("/api/v1/work-items", headers=admin.headers, params={"limit": 3})
    assert len(listed.json()["items"]) == 3
    assert listed.json()["next_cursor"]
    assert len(listed_statements) == 3, listed_statements
    by_step = await client.get(
        "/api/v1/work-items", headers=admin.headers, params={"step_id": str(steps["in_progress"])}
    )
    assert [i["id"] for i in by_step.json()["items"]] == [item["id"]]


async def test_out_of_range_numbers_are_422(
    client: httpx.AsyncClient, ticket: dict[str, Any]
) -> None:
    admin, item, steps = ticket["admin"], ticket["item"], ticket["steps"]
    huge = await _move(client, admin, {**item, "version": 2**40}, steps["in_progress"])
    assert huge.status_code == 422
    assert huge.json()["errors"][0]["field"] == "version"
