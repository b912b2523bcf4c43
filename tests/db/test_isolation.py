"""Tenant isolation at the SQL level (as the app role) and through the API."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.factories import Member, add_member, register_tenant


async def _scope(conn: asyncpg.Connection, tenant_id: uuid.UUID | None) -> None:
    await conn.execute(
        "SELECT set_config('baton.tenant_id', $1, true)", str(tenant_id) if tenant_id else ""
    )


@pytest.fixture
async def two_tenants(client: httpx.AsyncClient) -> tuple[Member, Member]:
    return await register_tenant(client), await register_tenant(client)


async def test_app_role_reads_only_the_scoped_tenant(
    app_conn: asyncpg.Connection, two_tenants: tuple[Member, Member]
) -> None:
    a, b = two_tenants
    async with app_conn.transaction():
        await _scope(app_conn, a.tenant_id)
        tenants = {
            r["tenant_id"] for r in await app_conn.fetch("SELECT tenant_id FROM memberships")
        }
        assert tenants == {a.tenant_id}
        tokens = await app_conn.fetch("SELECT tenant_id FROM access_tokens")
        assert {r["tenant_id"] for r in tokens} == {a.tenant_id}
        hidden = await app_conn.fetchval(
            "SELECT count(*) FROM memberships WHERE tenant_id = $1", b.tenant_id
        )
        assert hidden == 0


async def test_app_role_sees_nothing_without_a_tenant(
    app_conn: asyncpg.Connection, two_tenants: tuple[Member, Member]
) -> None:
    assert await app_conn.fetchval("SELECT count(*) FROM memberships") == 0
    assert await app_conn.fetchval("SELECT count(*) FROM tenant_settings") == 0
    async with app_conn.transaction():
        await _scope(app_conn, None)  # set, then empty: still fails closed
        assert await app_conn.fetchval("SELECT count(*) FROM access_tokens") == 0


async def test_app_role_cannot_write_into_another_tenant(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, two_tenants: tuple[Member, Member]
) -> None:
    a, b = two_tenants
    async with app_conn.transaction():
        await _scope(app_conn, a.tenant_id)
        updated = await app_conn.execute(
            "UPDATE memberships SET role = 'viewer' WHERE tenant_id = $1", b.tenant_id
        )
        assert updated == "UPDATE 0"
        deleted = await app_conn.execute(
            "DELETE FROM access_tokens WHERE tenant_id = $1", b.tenant_id
        )
        assert deleted == "DELETE 0"
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_conn.transaction():
            await _scope(app_conn, a.tenant_id)
            await app_conn.execute(
                "INSERT INTO tenant_settings (tenant_id, default_currency, timezone)"
                " VALUES ($1, 'EUR', 'UTC')",
                b.tenant_id,
            )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_conn.transaction():
            await _scope(app_conn, a.tenant_id)
            # Moving a row to another tenant is a write into that tenant.
            await app_conn.execute(
                "UPDATE tenant_settings SET tenant_id = $1 WHERE tenant_id = $2",
                b.tenant_id,
                a.tenant_id,
            )
    role_of_b = await owner_conn.fetchval(
        "SELECT role FROM memberships WHERE tenant_id = $1", b.tenant_id
    )
    assert role_of_b == "admin"


async def test_app_role_may_only_insert_audit_rows(
    app_conn: asyncpg.Connection, two_tenants: tuple[Member, Member]
) -> None:
    a, _ = two_tenants
    for statement in (
        "SELECT count(*) FROM audit_log",
        "UPDATE audit_log SET event = NULL",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with app_conn.transaction():
                await _scope(app_conn, a.tenant_id)
                await app_conn.execute(statement)


async def test_another_tenants_ids_answer_404(
    client: httpx.AsyncClient, two_tenants: tuple[Member, Member]
) -> None:
    a, b = two_tenants
    b_sales = await add_member(client, b, "sales")
    key = await client.post("/api/v1/api-keys", headers=b.headers, json={"name": "b key"})
    assert key.status_code == 201
    b_key_id = key.json()["id"]

    for method, path, body in (
        ("GET", f"/api/v1/users/{b_sales.user_id}", None),
        ("PATCH", f"/api/v1/users/{b_sales.user_id}", {"role": "viewer"}),
        ("DELETE", f"/api/v1/users/{b_sales.user_id}", None),
        ("DELETE", f"/api/v1/api-keys/{b_key_id}", None),
    ):
        response = await client.request(method, path, headers=a.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"

    listed = await client.get("/api/v1/users", headers=a.headers)
    assert {m["email"] for m in listed.json()["items"]} == {a.email}
    still = await client.get(f"/api/v1/users/{b_sales.user_id}", headers=b.headers)
    assert still.json()["role"] == "sales"


async def test_a_token_cannot_be_replayed_against_another_tenant(
    client: httpx.AsyncClient, two_tenants: tuple[Member, Member]
) -> None:
    """The tenant in a token's clear prefix scopes the lookup; forging it finds nothing."""
    a, b = two_tenants
    _, _, secret = a.token.split("_", 2)
    forged = f"bat_{b.tenant_id.hex}_{secret}"
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
