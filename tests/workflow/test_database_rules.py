"""The database itself refuses step changes that are not transitions — from any SQL."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Member, register_tenant


async def _scope(conn: asyncpg.Connection, member: Member, role: str = "admin") -> None:
    await conn.execute(
        "SELECT set_config('baton.tenant_id', $1, true), set_config('baton.user_id', $2, true),"
        " set_config('baton.role', $3, true)",
        str(member.tenant_id),
        str(member.user_id),
        role,
    )


@pytest.fixture
async def setup(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> dict[str, Any]:
    admin = await register_tenant(client)
    steps = {
        r["key"]: r["id"]
        for r in await owner_conn.fetch(
            "SELECT s.key, s.id FROM workflow_steps s JOIN workflows w ON w.id = s.workflow_id"
            " WHERE s.tenant_id = $1 AND w.name = 'Support ticket'",
            admin.tenant_id,
        )
    }
    project_type = await owner_conn.fetchval(
        "SELECT id FROM project_types WHERE tenant_id = $1 AND name = 'Support Ticket'",
        admin.tenant_id,
    )
    created = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": str(project_type), "name": "Raw SQL ticket"},
    )
    return {"admin": admin, "steps": steps, "item": uuid.UUID(created.json()["id"])}


async def test_raw_sql_cannot_skip_a_transition(
    app_conn: asyncpg.Connection, setup: dict[str, Any]
) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="no transition"):
        async with app_conn.transaction():
            await _scope(app_conn, setup["admin"])
            await app_conn.execute(
                "UPDATE work_items SET step_id = $1 WHERE id = $2",
                setup["steps"]["closed"],
                setup["item"],
            )


async def test_raw_sql_along_a_transition_writes_history(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, setup: dict[str, Any]
) -> None:
    async with app_conn.transaction():
        await _scope(app_conn, setup["admin"])
        await app_conn.execute(
            "UPDATE work_items SET step_id = $1 WHERE id = $2",
            setup["steps"]["in_progress"],
            setup["item"],
        )
    rows = await owner_conn.fetch(
        "SELECT from_step_id, to_step_id, actor_id, backwards FROM workflow_history"
        " WHERE record_id = $1 ORDER BY at, id",
        setup["item"],
    )
    assert [(r["from_step_id"], r["to_step_id"]) for r in rows] == [
        (None, setup["steps"]["open"]),
        (setup["steps"]["open"], setup["steps"]["in_progress"]),
    ]
    assert rows[1]["actor_id"] == setup["admin"].user_id
    assert rows[1]["backwards"] is False


async def test_reasons_roles_and_notes_are_enforced_by_the_database(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, setup: dict[str, Any]
) -> None:
    steps = setup["steps"]
    await owner_conn.execute(
        "UPDATE workflow_transitions SET conditions ="
        ' \'{"reasons": ["fixed", "other"], "roles": ["admin", "manager"]}\''
        " WHERE from_step_id = $1 AND to_step_id = $2",
        steps["open"],
        steps["in_progress"],
    )
    move = "UPDATE work_items SET step_id = $1 WHERE id = $2"
    cases = [
        ("sales", {"reason": "fixed"}, "may not take this transition"),
        ("admin", {}, "requires a reason"),
        ("admin", {"reason": "bogus"}, "requires a reason"),
        ("admin", {"reason": "other"}, "requires notes"),
    ]
    for role, settings, message in cases:
        with pytest.raises(asyncpg.CheckViolationError, match=message):
            async with app_conn.transaction():
                await _scope(app_conn, setup["admin"], role)
                for name, value in settings.items():
                    await app_conn.execute(
                        f"SELECT set_config('baton.transition_{name}', $1, true)", value
                    )
                await app_conn.execute(move, steps["in_progress"], setup["item"])
    async with app_conn.transaction():
        await _scope(app_conn, setup["admin"], "manager")
        await app_conn.execute(
            "SELECT set_config('baton.transition_reason', 'other', true),"
            " set_config('baton.transition_notes', 'explained', true)"
        )
        await app_conn.execute(move, steps["in_progress"], setup["item"])
    reason = await owner_conn.fetchval(
        "SELECT reason FROM workflow_history WHERE record_id = $1 AND to_step_id = $2",
        setup["item"],
        steps["in_progress"],
    )
    assert reason == "other"


async def test_records_start_at_the_initial_step_and_keep_their_workflow(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, setup: dict[str, Any]
) -> None:
    admin, steps = setup["admin"], setup["steps"]
    row = await owner_conn.fetchrow(
        "SELECT project_type_id, workflow_id FROM work_items WHERE id = $1", setup["item"]
    )
    with pytest.raises(asyncpg.CheckViolationError, match="initial step"):
        async with app_conn.transaction():
            await _scope(app_conn, admin)
            await app_conn.execute(
                "INSERT INTO work_items (tenant_id, id, project_type_id, name, workflow_id,"
                " step_id, entered_step_at, metadata) VALUES ($1, gen_random_uuid(), $2, 'x',"
                " $3, $4, now(), '{}')",
                admin.tenant_id,
                row["project_type_id"],
                row["workflow_id"],
                steps["resolved"],
            )
    other_workflow, other_initial = await owner_conn.fetchrow(
        "SELECT w.id, s.id FROM workflows w JOIN workflow_steps s ON s.workflow_id = w.id"
        " AND s.is_initial WHERE w.tenant_id = $1 AND w.name = 'Sales pipeline'",
        admin.tenant_id,
    )
    with pytest.raises(asyncpg.CheckViolationError, match="workflow migration"):
        async with app_conn.transaction():
            await _scope(app_conn, admin)
            await app_conn.execute(
                "UPDATE work_items SET workflow_id = $1, step_id = $2 WHERE id = $3",
                other_workflow,
                other_initial,
                setup["item"],
            )


async def test_history_is_append_only_for_the_app_role(
    app_conn: asyncpg.Connection, setup: dict[str, Any]
) -> None:
    for statement in (
        "UPDATE workflow_history SET reason = 'rewritten'",
        "DELETE FROM workflow_history",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with app_conn.transaction():
                await _scope(app_conn, setup["admin"])
                await app_conn.execute(statement)


async def test_a_project_type_with_work_items_cannot_be_deleted_from_sql(
    app_conn: asyncpg.Connection, setup: dict[str, Any]
) -> None:
    """The service refuses first with the count; the foreign key holds for any SQL."""
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with app_conn.transaction():
            await _scope(app_conn, setup["admin"])
            await app_conn.execute(
                "DELETE FROM project_types WHERE id = (SELECT project_type_id FROM work_items"
                " WHERE id = $1)",
                setup["item"],
            )
