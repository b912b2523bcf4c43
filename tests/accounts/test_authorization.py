"""Who may do what with accounts: viewers read only; another organization sees nothing —
through the API (404 on every endpoint) and in raw SQL as the app role (RLS)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.accounts.support import add_transaction, create_account, insert_deal, today
from tests.factories import Member, add_member, register_tenant


def _writes(account_id: str, version: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/v1/accounts/{account_id}"
    return [
        ("POST", "/api/v1/accounts", {"name": "Nope"}),
        ("PATCH", base, {"name": "Nope", "version": version}),
        ("DELETE", f"{base}?version={version}", None),
        ("POST", f"{base}/restore", None),
        ("POST", f"{base}/transactions", {"occurred_on": today().isoformat(), "amount": "1"}),
    ]


def _reads(account_id: str) -> list[str]:
    base = f"/api/v1/accounts/{account_id}"
    return [base, f"{base}/overview", f"{base}/transactions"]


async def _call(
    client: httpx.AsyncClient, member: Member, method: str, path: str, body: Any
) -> httpx.Response:
    return await client.request(method, path, headers=member.headers, json=body)


@pytest.mark.parametrize("role", ["admin", "manager", "marketing", "sales", "viewer"])
async def test_every_role_reads_and_only_viewers_may_not_write(
    client: httpx.AsyncClient, role: str
) -> None:
    admin = await register_tenant(client)
    member = admin if role == "admin" else await add_member(client, admin, role)
    account = await create_account(client, admin)
    for path in [*_reads(account["id"]), "/api/v1/accounts"]:
        assert (await client.get(path, headers=member.headers)).status_code == 200, path
    for method, path, body in _writes(account["id"], account["version"]):
        response = await _call(client, member, method, path, body)
        if role == "viewer":
            assert response.status_code == 403, (method, path, response.text)
        else:
            assert response.status_code != 403, (method, path, response.text)
    if role == "viewer":
        # Nothing changed.
        fetched = await client.get(f"/api/v1/accounts/{account['id']}", headers=admin.headers)
        assert fetched.json() == account


async def test_another_organizations_ids_are_404_on_every_endpoint(
    client: httpx.AsyncClient,
) -> None:
    owner = await register_tenant(client)
    account = await create_account(client, owner)
    await add_transaction(client, owner, account["id"], 1)
    deleted = await create_account(client, owner)
    await client.delete(
        f"/api/v1/accounts/{deleted['id']}", headers=owner.headers, params={"version": 1}
    )
    intruder = await register_tenant(client)
    for path in _reads(account["id"]):
        response = await client.get(path, headers=intruder.headers)
        assert response.status_code == 404, (path, response.text)
    for method, path, body in _writes(account["id"], account["version"])[1:]:
        response = await _call(client, intruder, method, path, body)
        assert response.status_code == 404, (method, path, response.text)
    restore = await client.post(
        f"/api/v1/accounts/{deleted['id']}/restore", headers=intruder.headers
    )
    assert restore.status_code == 404
    listed = await client.get("/api/v1/accounts", headers=intruder.headers)
    assert listed.json()["items"] == []
    # The intruder's own accounts may use the same domain or be owned only by its members.
    foreign_owner = await client.post(
        "/api/v1/accounts",
        headers=intruder.headers,
        json={"name": "Mine", "owner_id": str(owner.user_id)},
    )
    assert foreign_owner.status_code == 422
    # And the owner's records are untouched.
    assert (await client.get(f"/api/v1/accounts/{account['id']}", headers=owner.headers)).json()[
        "version"
    ] == account["version"]


async def _scope(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    await conn.execute("SELECT set_config('baton.tenant_id', $1, true)", str(tenant_id))


async def test_the_app_role_cannot_see_another_tenants_accounts_in_raw_sql(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection
) -> None:
    a, b = await register_tenant(client), await register_tenant(client)
    mine = await create_account(client, a)
    theirs = await create_account(client, b, domain="theirs.com")
    await add_transaction(client, b, theirs["id"], 3)
    await insert_deal(owner_conn, b, theirs["id"], outcome="won")
    async with app_conn.transaction():
        await _scope(app_conn, a.tenant_id)
        accounts = await app_conn.fetch("SELECT id FROM accounts")
        assert [str(r["id"]) for r in accounts] == [mine["id"]]
        for table in ("account_transactions", "contacts", "deals"):
            leaked = await app_conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE tenant_id = $1",
                b.tenant_id,
            )
            assert leaked == 0, table
        # The status view runs as its reader, so RLS applies through it too.
        statuses = await app_conn.fetch("SELECT account_id FROM account_statuses")
        assert [str(r["account_id"]) for r in statuses] == [mine["id"]]
        updated = await app_conn.execute(
            "UPDATE accounts SET name = 'hijacked' WHERE id = $1", uuid.UUID(theirs["id"])
        )
        assert updated == "UPDATE 0"
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_conn.transaction():
            await _scope(app_conn, a.tenant_id)
            await app_conn.execute(
                "INSERT INTO accounts (tenant_id, id, name, owner_id) VALUES ($1, $2, 'x', $3)",
                b.tenant_id,
                uuid.uuid4(),
                b.user_id,
            )
    # Without a tenant, nothing at all.
    assert await app_conn.fetchval("SELECT count(*) FROM accounts") == 0
    assert await app_conn.fetchval("SELECT count(*) FROM account_statuses") == 0
