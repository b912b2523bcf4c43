"""Saved views' privacy held by the database (RLS on `saved_views`), not only by the
service: as the app role, another member's private view is not there even by id, a
shared one is read by every member, and only the owner writes a view."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.deals.conftest import Org
from tests.factories import Member, add_member


async def _as(conn: asyncpg.Connection, member: Member, role: str = "sales") -> None:
    await conn.execute(
        "SELECT set_config('baton.tenant_id', $1, true), set_config('baton.user_id', $2, true),"
        " set_config('baton.role', $3, true)",
        str(member.tenant_id),
        str(member.user_id),
        role,
    )


async def _view(client: httpx.AsyncClient, member: Member, name: str, shared: bool) -> uuid.UUID:
    response = await client.post(
        "/api/v1/views",
        headers=member.headers,
        json={"list": "deals", "name": name, "query": {"stage": "proposal"}, "shared": shared},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def test_the_database_hides_a_private_view_and_shows_a_shared_one(
    client: httpx.AsyncClient, org: Org, app_conn: asyncpg.Connection
) -> None:
    other = await add_member(client, org.admin, "sales")
    private = await _view(client, org.sales, "Mine only", shared=False)
    shared = await _view(client, org.sales, "For the team", shared=True)
    async with app_conn.transaction():
        await _as(app_conn, other)
        seen = {r["id"] for r in await app_conn.fetch("SELECT id FROM saved_views")}
        assert seen == {shared}
        by_id = "SELECT count(*) FROM saved_views WHERE id = $1"
        assert await app_conn.fetchval(by_id, private) == 0
    async with app_conn.transaction():
        # An admin does not see members' private views either.
        await _as(app_conn, org.admin, "admin")
        seen = {r["id"] for r in await app_conn.fetch("SELECT id FROM saved_views")}
        assert seen == {shared}
    async with app_conn.transaction():
        await _as(app_conn, org.sales)
        seen = {r["id"] for r in await app_conn.fetch("SELECT id FROM saved_views")}
        assert seen == {private, shared}


async def test_only_the_owner_writes_a_view_in_the_database(
    client: httpx.AsyncClient,
    org: Org,
    app_conn: asyncpg.Connection,
    owner_conn: asyncpg.Connection,
) -> None:
    other = await add_member(client, org.admin, "sales")
    shared = await _view(client, org.sales, "For the team", shared=True)
    before = await owner_conn.fetchrow("SELECT * FROM saved_views WHERE id = $1", shared)
    statements: list[tuple[str, Any]] = [
        ("UPDATE saved_views SET name = 'Taken' WHERE id = $1", shared),
        # Handing the view to oneself is no way around it.
        ("UPDATE saved_views SET owner_id = $1", other.user_id),
    ]
    for statement, argument in statements:
        async with app_conn.transaction():
            await _as(app_conn, other)
            assert await app_conn.execute(statement, argument) == "UPDATE 0"
    async with app_conn.transaction():
        await _as(app_conn, other)
        assert await app_conn.execute("DELETE FROM saved_views WHERE id = $1", shared) == (
            "DELETE 0"
        )
    async with app_conn.transaction():
        await _as(app_conn, other)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_conn.execute(
                "INSERT INTO saved_views (tenant_id, id, owner_id, list_kind, name, query,"
                " shared) VALUES ($1, $2, $3, 'deals', 'Planted', '{}', true)",
                org.admin.tenant_id,
                uuid.uuid4(),
                org.sales.user_id,
            )
    after = await owner_conn.fetchrow("SELECT * FROM saved_views WHERE id = $1", shared)
    assert after == before

    # The owner does change it, through the same role.
    async with app_conn.transaction():
        await _as(app_conn, org.sales)
        assert (
            await app_conn.execute("UPDATE saved_views SET name = 'Renamed' WHERE id = $1", shared)
            == "UPDATE 1"
        )
