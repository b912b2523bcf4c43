"""The generic audit trigger and the security events."""

from __future__ import annotations

import json
import uuid

import asyncpg
import httpx

from tests.factories import PASSWORD, add_member, register_tenant


async def _events(conn: asyncpg.Connection, tenant_id: uuid.UUID | None, event: str) -> list[dict]:
    rows = await conn.fetch(
        "SELECT event, details, actor_user_id, request_id, client_address FROM audit_log"
        " WHERE action = 'security' AND event = $1"
        " AND tenant_id IS NOT DISTINCT FROM $2 ORDER BY id",
        event,
        tenant_id,
    )
    return [{**dict(r), "details": json.loads(r["details"])} for r in rows]


async def test_raw_sql_as_app_role_is_audited_with_actor_and_request(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    async with app_conn.transaction():
        await app_conn.execute(
            "SELECT set_config('baton.tenant_id', $1, true), set_config('baton.user_id', $2, true),"
            " set_config('baton.request_id', 'raw-sql-1', true)",
            str(admin.tenant_id),
            str(admin.user_id),
        )
        await app_conn.execute(
            "UPDATE tenant_settings SET timezone = 'Europe/Berlin' WHERE tenant_id = $1",
            admin.tenant_id,
        )
    row = await owner_conn.fetchrow(
        "SELECT * FROM audit_log WHERE table_name = 'tenant_settings' AND tenant_id = $1"
        " AND action = 'update'",
        admin.tenant_id,
    )
    assert row is not None
    assert row["changed_columns"] == ["timezone"]
    assert json.loads(row["before"])["timezone"] == "UTC"
    assert json.loads(row["after"])["timezone"] == "Europe/Berlin"
    assert row["actor_user_id"] == admin.user_id
    assert row["request_id"] == "raw-sql-1"


async def test_registration_is_audited_and_secrets_are_redacted(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    rows = await owner_conn.fetch(
        "SELECT table_name, action, after, actor_user_id, request_id FROM audit_log"
        " WHERE tenant_id = $1 AND action = 'insert' ORDER BY id",
        admin.tenant_id,
    )
    tables = {r["table_name"] for r in rows}
    assert tables == {
        "tenants",
        "memberships",
        "tenant_settings",
        "access_tokens",
        # the default workflows seeded in the same transaction
        "statuses",
        "workflows",
        "workflow_steps",
        "workflow_transitions",
        "project_types",
        # and the default cadence
        "cadences",
        "cadence_steps",
    }
    request_ids = {r["request_id"] for r in rows}
    assert len(request_ids) == 1
    assert None not in request_ids
    token_row = next(r for r in rows if r["table_name"] == "access_tokens")
    assert json.loads(token_row["after"])["token_hash"] == "[redacted]"
    assert all(r["actor_user_id"] == admin.user_id for r in rows)
    # users is global: its audit row has no tenant but the same request id.
    user_row = await owner_conn.fetchrow(
        "SELECT after FROM audit_log WHERE table_name = 'users' AND row_id = $1", admin.user_id
    )
    assert json.loads(user_row["after"])["password_hash"] == "[redacted]"


async def test_a_changed_secret_is_listed_as_changed_and_its_values_stay_redacted(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    async with owner_conn.transaction():
        await owner_conn.execute("SELECT set_config('baton.user_id', $1, true)", str(admin.user_id))
        await owner_conn.execute(
            "UPDATE users SET password_hash = 'another-hash', full_name = 'Ada Renamed'"
            " WHERE id = $1",
            admin.user_id,
        )
    row = await owner_conn.fetchrow(
        "SELECT changed_columns, before, after FROM audit_log"
        " WHERE table_name = 'users' AND row_id = $1 AND action = 'update'",
        admin.user_id,
    )
    assert row is not None
    assert {"password_hash", "full_name"} <= set(row["changed_columns"])
    assert "email" not in row["changed_columns"]
    before, after = json.loads(row["before"]), json.loads(row["after"])
    assert before["password_hash"] == after["password_hash"] == "[redacted]"
    assert after["full_name"] == "Ada Renamed"


async def test_failed_logins_are_audited_although_the_request_fails(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": "wrong-password"}
    )
    assert response.status_code == 401
    events = await owner_conn.fetch(
        "SELECT details, actor_user_id FROM audit_log WHERE event = 'login.failed'"
        " AND details->>'email' = $1",
        admin.email,
    )
    assert len(events) == 1
    assert events[0]["actor_user_id"] == admin.user_id
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == response.json()["detail"]  # no account enumeration


async def test_security_events_for_members_keys_and_sessions(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    await client.patch(
        f"/api/v1/users/{sales.user_id}",
        headers=admin.headers,
        json={"role": "marketing", "version": 1},
    )
    key = await client.post("/api/v1/api-keys", headers=admin.headers, json={"name": "ci"})
    await client.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=admin.headers)
    denied = await client.get("/api/v1/users", headers=sales.headers)
    assert denied.status_code == 403
    await client.post(
        "/api/v1/auth/password",
        headers=sales.headers,
        json={"current_password": PASSWORD, "new_password": "another-long-password"},
    )
    await client.post("/api/v1/auth/logout", headers=sales.headers)
    await client.delete(f"/api/v1/users/{sales.user_id}", headers=admin.headers)

    for event, actor in (
        ("tenant.registered", admin.user_id),
        ("user.invited", admin.user_id),
        ("login.ok", sales.user_id),
        ("user.role_changed", admin.user_id),
        ("api_key.created", admin.user_id),
        ("api_key.revoked", admin.user_id),
        ("permission.denied", sales.user_id),
        ("password.changed", sales.user_id),
        ("logout", sales.user_id),
        ("user.removed", admin.user_id),
    ):
        found = await _events(owner_conn, admin.tenant_id, event)
        assert found, event
        assert found[-1]["actor_user_id"] == actor, event
        assert found[-1]["request_id"], event
    role_change = (await _events(owner_conn, admin.tenant_id, "user.role_changed"))[-1]
    assert role_change["details"] == {
        "user_id": str(sales.user_id),
        "from": "sales",
        "to": "marketing",
    }
