"""`tenants` and `users` under RLS: the app role sees its organization and its members,
never another's, even by id; what must work before a tenant is known goes through the
narrow SECURITY DEFINER functions (baton.identity.ddl)."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from baton.identity.ddl import SIGNATURES
from tests.factories import PASSWORD, Member, add_member, login, register_tenant


async def _scope(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | None,
    user_id: uuid.UUID | None = None,
    role: str = "",
) -> None:
    await conn.execute(
        "SELECT set_config('baton.tenant_id', $1, true), set_config('baton.user_id', $2, true),"
        " set_config('baton.role', $3, true)",
        str(tenant_id) if tenant_id else "",
        str(user_id) if user_id else "",
        role,
    )


@pytest.fixture
async def two_tenants(client: httpx.AsyncClient) -> tuple[Member, Member, Member]:
    a, b = await register_tenant(client), await register_tenant(client)
    b_sales = await add_member(client, b, "sales")
    return a, b, b_sales


async def test_app_role_sees_its_tenant_row_and_its_members_only(
    app_conn: asyncpg.Connection, two_tenants: tuple[Member, Member, Member]
) -> None:
    a, b, b_sales = two_tenants
    async with app_conn.transaction():
        await _scope(app_conn, a.tenant_id, a.user_id, "admin")
        assert {r["id"] for r in await app_conn.fetch("SELECT id FROM tenants")} == {a.tenant_id}
        assert {r["id"] for r in await app_conn.fetch("SELECT id FROM users")} == {a.user_id}
        # Even by id, and even joined through a table the app role may read.
        assert (
            await app_conn.fetchval("SELECT count(*) FROM tenants WHERE id = $1", b.tenant_id) == 0
        )
        for user_id in (b.user_id, b_sales.user_id):
            assert await app_conn.fetchval("SELECT count(*) FROM users WHERE id = $1", user_id) == 0
        assert (
            await app_conn.fetchval("SELECT count(*) FROM users WHERE email = $1", b_sales.email)
            == 0
        )
    async with app_conn.transaction():
        await _scope(app_conn, b.tenant_id)
        members = {r["id"] for r in await app_conn.fetch("SELECT id FROM users")}
        assert members == {b.user_id, b_sales.user_id}


async def test_app_role_sees_no_login_nor_organization_without_a_tenant(
    app_conn: asyncpg.Connection, two_tenants: tuple[Member, Member, Member]
) -> None:
    assert await app_conn.fetchval("SELECT count(*) FROM tenants") == 0
    assert await app_conn.fetchval("SELECT count(*) FROM users") == 0
    a, _, _ = two_tenants
    async with app_conn.transaction():
        # Signing in: the login itself and its own organizations, nothing more.
        await _scope(app_conn, None, a.user_id)
        assert {r["id"] for r in await app_conn.fetch("SELECT id FROM users")} == {a.user_id}
        assert {r["id"] for r in await app_conn.fetch("SELECT id FROM tenants")} == {a.tenant_id}


async def test_app_role_cannot_change_another_login_or_organization(
    app_conn: asyncpg.Connection,
    owner_conn: asyncpg.Connection,
    two_tenants: tuple[Member, Member, Member],
) -> None:
    a, b, b_sales = two_tenants
    async with app_conn.transaction():
        await _scope(app_conn, a.tenant_id, a.user_id, "admin")
        assert (
            await app_conn.execute(
                "UPDATE users SET full_name = 'Mallory' WHERE id = $1", b_sales.user_id
            )
            == "UPDATE 0"
        )
        assert (
            await app_conn.execute("UPDATE tenants SET name = 'Mallory' WHERE id = $1", b.tenant_id)
            == "UPDATE 0"
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_conn.transaction():
            await _scope(app_conn, a.tenant_id, a.user_id, "admin")
            await app_conn.execute(
                "INSERT INTO users (id, email, full_name, password_hash)"
                " VALUES ($1, 'mallory@example.com', 'Mallory', 'x')",
                uuid.uuid4(),
            )
    assert (
        await owner_conn.fetchval("SELECT full_name FROM users WHERE id = $1", b_sales.user_id)
        != "Mallory"
    )


async def test_definer_functions_answer_narrowly_and_only_to_the_app_role(
    app_conn: asyncpg.Connection,
    owner_conn: asyncpg.Connection,
    two_tenants: tuple[Member, Member, Member],
) -> None:
    a, b, _ = two_tenants
    row = await app_conn.fetchrow("SELECT * FROM baton_login_lookup($1)", a.email)
    assert row is not None
    assert set(row.keys()) == {"user_id", "password_hash", "is_active"}
    assert row["user_id"] == a.user_id
    assert await app_conn.fetchval("SELECT baton_tenant_for_slug($1)", b.tenant_slug) == b.tenant_id
    # Adding a login is an admin's act inside an organization, nothing else.
    for tenant_id, role in ((None, "admin"), (a.tenant_id, "sales")):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="admin"):
            async with app_conn.transaction():
                await _scope(app_conn, tenant_id, a.user_id, role)
                await app_conn.fetchval("SELECT baton_create_login('x@example.com', 'X', 'hash')")
    # Owned by the owner, a fixed search_path, EXECUTE not PUBLIC's.
    for signature in SIGNATURES:
        facts = await owner_conn.fetchrow(
            "SELECT p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner) AS owner,"
            " has_function_privilege('public', p.oid, 'EXECUTE') AS public_may"
            " FROM pg_proc p WHERE p.oid = $1::regprocedure",
            signature,
        )
        assert facts["prosecdef"], signature
        assert facts["proconfig"] == ["search_path=pg_catalog, public"], signature
        assert not facts["public_may"], signature


async def test_login_registration_and_invitation_still_work(client: httpx.AsyncClient) -> None:
    a = await register_tenant(client)
    b = await register_tenant(client)
    # b's admin joins a as sales: an existing login of another organization.
    joined = await client.post(
        "/api/v1/users",
        headers=a.headers,
        json={"email": b.email, "full_name": "Bea", "role": "sales", "password": PASSWORD},
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["id"] == str(b.user_id)
    # Now the login belongs to two organizations and must say which.
    refused = await client.post("/api/v1/auth/login", json={"email": b.email, "password": PASSWORD})
    assert refused.status_code == 422
    token = await login(client, b.email, tenant=a.tenant_slug)
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["tenant"]["id"] == str(a.tenant_id)
    assert me.json()["role"] == "sales"
    again = await client.post(
        "/api/v1/auth/register",
        json={
            "organization_name": "Another",
            "full_name": "A",
            "email": a.email,
            "password": PASSWORD,
        },
    )
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "email"
