"""Registration, sign-in, /me, sign-out through the HTTP API."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.factories import PASSWORD, add_member, login, register_tenant, unique


async def test_register_returns_tenant_user_and_working_token(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client, name="Zeta Freight")
    me = await client.get("/api/v1/me", headers=admin.headers)
    assert me.status_code == 200
    body = me.json()
    assert body["role"] == "admin"
    assert body["tenant"]["name"] == "Zeta Freight"
    assert body["tenant"]["slug"].startswith("zeta-freight")
    assert body["user"]["email"] == admin.email


async def test_register_validates_every_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "organization_name": "x" * 201,
            "full_name": "",
            "email": "not-an-email",
            "password": "short",
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"organization_name", "full_name", "email", "password"}


async def test_register_with_a_known_email_is_409(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    again = await client.post(
        "/api/v1/auth/register",
        json={
            "organization_name": "Another",
            "full_name": "Ada",
            "email": admin.email.upper(),
            "password": PASSWORD,
        },
    )
    assert again.status_code == 409
    assert again.json()["errors"] == [{"field": "email", "message": "is already registered"}]


async def test_same_organization_name_gets_a_distinct_slug(client: httpx.AsyncClient) -> None:
    name = unique("Same Name")
    first = await register_tenant(client, name=name)
    second = await register_tenant(client, name=name)
    assert first.tenant_slug != second.tenant_slug
    assert second.tenant_slug.startswith(first.tenant_slug)


async def test_login_with_wrong_password_is_401_problem(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": "not-the-password"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "Email or password is incorrect"


async def test_login_to_one_of_several_organizations(client: httpx.AsyncClient) -> None:
    first = await register_tenant(client)
    second = await register_tenant(client)
    invited = await client.post(
        "/api/v1/users",
        headers=second.headers,
        json={"email": first.email, "full_name": "Ada", "role": "viewer", "password": PASSWORD},
    )
    assert invited.status_code == 201
    ambiguous = await client.post(
        "/api/v1/auth/login", json={"email": first.email, "password": PASSWORD}
    )
    assert ambiguous.status_code == 422
    assert ambiguous.json()["errors"][0]["field"] == "tenant"
    token = await login(client, first.email, tenant=second.tenant_slug)
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["tenant"]["id"] == str(second.tenant_id)
    assert me.json()["role"] == "viewer"
    wrong = await client.post(
        "/api/v1/auth/login",
        json={"email": first.email, "password": PASSWORD, "tenant": "no-such-org"},
    )
    assert wrong.status_code == 401


async def test_missing_malformed_revoked_and_expired_tokens_are_401(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    assert (await client.get("/api/v1/me")).status_code == 401
    garbage = await client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert garbage.status_code == 401
    token = await login(client, admin.email)
    headers = {"Authorization": f"Bearer {token}"}
    await owner_conn.execute(
        "UPDATE access_tokens SET expires_at = now() - interval '1 second'"
        " WHERE tenant_id = $1 AND created_at = (SELECT max(created_at) FROM access_tokens"
        " WHERE tenant_id = $1)",
        admin.tenant_id,
    )
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=admin.headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 401


async def test_password_change_ends_other_sessions_everywhere(client: httpx.AsyncClient) -> None:
    first = await register_tenant(client)
    second = await register_tenant(client)
    await client.post(
        "/api/v1/users",
        headers=second.headers,
        json={"email": first.email, "full_name": "Ada", "role": "sales", "password": PASSWORD},
    )
    elsewhere = await login(client, first.email, tenant=second.tenant_slug)
    wrong = await client.post(
        "/api/v1/auth/password",
        headers=first.headers,
        json={"current_password": "not-it-at-all", "new_password": "a-new-long-password"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    changed = await client.post(
        "/api/v1/auth/password",
        headers=first.headers,
        json={"current_password": PASSWORD, "new_password": "a-new-long-password"},
    )
    assert changed.status_code == 204
    assert (await client.get("/api/v1/me", headers=first.headers)).status_code == 200
    other = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {elsewhere}"})
    assert other.status_code == 401
    old = await client.post(
        "/api/v1/auth/login",
        json={"email": first.email, "password": PASSWORD, "tenant": first.tenant_slug},
    )
    assert old.status_code == 401
    await login(client, first.email, "a-new-long-password", tenant=first.tenant_slug)


async def test_api_key_is_shown_once_and_authenticates_until_revoked(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    created = await client.post("/api/v1/api-keys", headers=sales.headers, json={"name": "zapier"})
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith(body["prefix"][:4])
    key_headers = {"Authorization": f"Bearer {body['key']}"}
    me = await client.get("/api/v1/me", headers=key_headers)
    assert me.json()["auth_method"] == "api_key"
    assert me.json()["user"]["id"] == str(sales.user_id)
    listed = await client.get("/api/v1/api-keys", headers=sales.headers)
    assert [k["id"] for k in listed.json()["items"]] == [body["id"]]
    assert "key" not in listed.json()["items"][0]
    revoked = await client.delete(f"/api/v1/api-keys/{body['id']}", headers=sales.headers)
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/me", headers=key_headers)).status_code == 401


async def test_members_are_paginated_with_a_cursor(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    for role in ("sales", "sales", "viewer"):
        await add_member(client, admin, role)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/users", headers=admin.headers, params=params)).json()
        seen += [m["email"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 4 == len(set(seen))
    bad = await client.get("/api/v1/users", headers=admin.headers, params={"cursor": "@@"})
    assert bad.status_code == 422
    too_big = await client.get("/api/v1/users", headers=admin.headers, params={"limit": 1000})
    assert too_big.status_code == 422


async def test_role_change_checks_version_and_keeps_an_admin(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    member = (await client.get(f"/api/v1/users/{sales.user_id}", headers=admin.headers)).json()
    ok = await client.patch(
        f"/api/v1/users/{sales.user_id}",
        headers={**admin.headers, "If-Match": f'"{member["version"]}"'},
        json={"role": "manager"},
    )
    assert ok.status_code == 200
    assert ok.json()["version"] == member["version"] + 1
    stale = await client.patch(
        f"/api/v1/users/{sales.user_id}",
        headers={**admin.headers, "If-Match": f'"{member["version"]}"'},
        json={"role": "viewer"},
    )
    assert stale.status_code == 409
    unversioned = await client.patch(
        f"/api/v1/users/{sales.user_id}", headers=admin.headers, json={"role": "viewer"}
    )
    assert unversioned.status_code == 422
    assert unversioned.json()["errors"] == [{"field": "version", "message": "is required"}]
    last_admin = await client.patch(
        f"/api/v1/users/{admin.user_id}",
        headers=admin.headers,
        json={"role": "sales", "version": 1},
    )
    assert last_admin.status_code == 422
    assert "at least one admin" in last_admin.json()["detail"]
    removal = await client.delete(f"/api/v1/users/{admin.user_id}", headers=admin.headers)
    assert removal.status_code == 422


async def test_the_database_keeps_an_admin_even_if_the_service_is_bypassed(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    with pytest.raises(asyncpg.CheckViolationError, match="without an admin"):
        async with app_conn.transaction():
            await app_conn.execute(
                "SELECT set_config('baton.tenant_id', $1, true)", str(admin.tenant_id)
            )
            await app_conn.execute("UPDATE memberships SET role = 'sales'")


async def test_removed_member_loses_access_at_once(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    key = await client.post("/api/v1/api-keys", headers=sales.headers, json={"name": "k"})
    key_headers = {"Authorization": f"Bearer {key.json()['key']}"}
    assert (
        await client.delete(f"/api/v1/users/{sales.user_id}", headers=admin.headers)
    ).status_code == 204
    assert (await client.get("/api/v1/me", headers=sales.headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers=key_headers)).status_code == 401
    again = await client.delete(f"/api/v1/users/{sales.user_id}", headers=admin.headers)
    assert again.status_code == 404


async def test_register_and_login_work_while_holding_another_organizations_token(
    client: httpx.AsyncClient,
) -> None:
    first = await register_tenant(client)
    email = f"{unique('second')}@example.com"
    registered = await client.post(
        "/api/v1/auth/register",
        headers=first.headers,
        json={
            "organization_name": "Second",
            "full_name": "S",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert registered.status_code == 201, registered.text
    logged_in = await client.post(
        "/api/v1/auth/login", headers=first.headers, json={"email": email, "password": PASSWORD}
    )
    assert logged_in.status_code == 200, logged_in.text
    assert logged_in.json()["tenant"]["id"] == registered.json()["tenant"]["id"]


async def test_a_member_of_two_organizations_sees_one_at_a_time(
    client: httpx.AsyncClient,
) -> None:
    first = await register_tenant(client)
    second = await register_tenant(client)
    await client.post(
        "/api/v1/users",
        headers=second.headers,
        json={"email": first.email, "full_name": "Ada", "role": "admin", "password": PASSWORD},
    )
    listed = (await client.get("/api/v1/users", headers=first.headers)).json()["items"]
    assert [m["email"] for m in listed] == [first.email]
    own = (await client.get(f"/api/v1/users/{first.user_id}", headers=first.headers)).json()
    assert own["role"] == "admin"
    token = await login(client, first.email, tenant=second.tenant_slug)
    in_second = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert sorted(m["email"] for m in in_second.json()["items"]) == sorted(
        [first.email, second.email]
    )


async def test_registration_is_limited_per_address(app: object, settings: object) -> None:
    from baton.app import create_app
    from baton.config import Settings
    from baton.db.engine import Database
    from baton.db.urls import app_url

    assert isinstance(settings, Settings)
    limited = settings.model_copy(update={"registrations_per_minute": 2})
    db = Database(app_url(limited), pool_size=2, max_overflow=0)
    transport = httpx.ASGITransport(app=create_app(limited, db), client=("127.200.1.1", 1))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            statuses = []
            for _ in range(3):
                response = await http.post(
                    "/api/v1/auth/register",
                    json={
                        "organization_name": unique("Limited"),
                        "full_name": "L",
                        "email": f"{unique('l')}@example.com",
                        "password": PASSWORD,
                    },
                )
                statuses.append(response.status_code)
        if statuses[-1] == 201:
            pytest.skip("the one-minute window turned over mid-test")
        assert statuses == [201, 201, 429]
        assert int(response.headers["retry-after"]) >= 1
    finally:
        await db.dispose()


async def test_time_zones_must_exist(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "organization_name": "Tz",
            "full_name": "T",
            "email": f"{unique('tz')}@example.com",
            "password": PASSWORD,
            "timezone": "Mars/Olympus_Mons",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "timezone"


async def test_registering_while_signed_in_with_an_idempotency_key(
    client: httpx.AsyncClient,
) -> None:
    """The key is the caller's and kept in the caller's organization, though the
    registration moved the transaction to the new one (it was a 500)."""
    admin = await register_tenant(client)
    key = uuid.uuid4().hex
    body = {
        "organization_name": "Second",
        "full_name": "Ada",
        "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "password": "correct-horse-battery",
    }
    first = await client.post(
        "/api/v1/auth/register", json=body, headers={**admin.headers, "Idempotency-Key": key}
    )
    assert first.status_code == 201, first.text
    again = await client.post(
        "/api/v1/auth/register", json=body, headers={**admin.headers, "Idempotency-Key": key}
    )
    assert again.status_code == 201
    assert again.json()["tenant"]["id"] == first.json()["tenant"]["id"]
