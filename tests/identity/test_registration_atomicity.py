"""Registration is one transaction: a fault between any two steps leaves no row behind.

Faults are injected in the database itself — a trigger that fails (or kills the
connection) when a given step's row for the marked organization arrives — so no
test hook exists in the code under test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.factories import PASSWORD, unique

# Each step of registration, in order, and how its row is recognised.
STEPS = {
    "tenants": "NEW.name LIKE 'Fault %'",
    "users": "NEW.email LIKE 'fault-%'",
    "memberships": "true",
    "tenant_settings": "true",
    # the default workflows and project types
    "statuses": "true",
    "workflow_transitions": "true",
    "project_types": "true",
    "access_tokens": "true",
    "audit_log": "NEW.event = 'tenant.registered'",
}


@pytest.fixture
async def inject(owner_conn: asyncpg.Connection) -> AsyncIterator[object]:
    installed: list[str] = []

    async def install(table: str, action: str) -> None:
        condition = STEPS[table]
        if table not in ("tenants", "users", "audit_log"):
            # Only fail rows of the organization under test.
            condition = "EXISTS (SELECT 1 FROM tenants t WHERE t.id = NEW.tenant_id AND t.name LIKE 'Fault %')"
        elif table == "audit_log":
            condition += " AND NEW.details->>'slug' LIKE 'fault-%'"
        await owner_conn.execute(
            f"""
            CREATE FUNCTION inject_fault_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {condition} THEN {action}; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER inject_fault BEFORE INSERT ON {table}
                FOR EACH ROW EXECUTE FUNCTION inject_fault_{table}();
            """
        )
        installed.append(table)

    yield install
    for table in installed:
        await owner_conn.execute(
            f"DROP TRIGGER inject_fault ON {table}; DROP FUNCTION inject_fault_{table}()"
        )


async def _leftovers(owner_conn: asyncpg.Connection, email: str, name: str) -> dict[str, int]:
    return {
        "tenants": await owner_conn.fetchval("SELECT count(*) FROM tenants WHERE name = $1", name),
        "users": await owner_conn.fetchval("SELECT count(*) FROM users WHERE email = $1", email),
        "memberships": await owner_conn.fetchval(
            "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1",
            email,
        ),
        "settings": await owner_conn.fetchval(
            "SELECT count(*) FROM tenant_settings s JOIN tenants t ON t.id = s.tenant_id"
            " WHERE t.name = $1",
            name,
        ),
        "audit": await owner_conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE after->>'name' = $1 OR after->>'email' = $2",
            name,
            email,
        ),
    }


@pytest.mark.parametrize("table", list(STEPS))
@pytest.mark.parametrize(
    "action",
    [
        "RAISE EXCEPTION 'injected fault'",
        # The connection dies mid-transaction, as if the process or network failed.
        "PERFORM pg_terminate_backend(pg_backend_pid())",
    ],
    ids=["error", "connection-killed"],
)
async def test_a_fault_at_any_step_leaves_nothing(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    inject: object,
    table: str,
    action: str,
) -> None:
    await inject(table, action)  # type: ignore[operator]
    token = unique("x")
    email, name = f"fault-{token}@example.com", f"Fault {token}"
    payload = {"organization_name": name, "full_name": "F", "email": email, "password": PASSWORD}
    response = await client.post("/api/v1/auth/register", json=payload)
    # An error is ours (500); a database gone mid-request is worth a retry (503).
    assert response.status_code == (503 if "terminate" in action else 500), response.text
    assert "nothing was changed" in response.json()["detail"]
    # Even an unexpected failure is answered inside the envelope.
    assert response.headers["x-request-id"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert await _leftovers(owner_conn, email, name) == {
        "tenants": 0,
        "users": 0,
        "memberships": 0,
        "settings": 0,
        "audit": 0,
    }
