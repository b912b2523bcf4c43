"""Account lists and the overview issue a constant number of SQL statements, however
many rows they show."""

from __future__ import annotations

import asyncpg
import httpx

from baton.db.engine import Database
from tests.accounts.support import (
    add_transaction,
    create_account,
    create_contact,
    insert_activity,
    insert_deal,
)
from tests.factories import register_tenant
from tests.identity.test_statement_counts import counted


async def test_account_lists_do_not_grow_with_the_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    first = await create_account(client, admin, name="Acme 0")
    await add_transaction(client, admin, first["id"], 1)
    queries = (
        ("/api/v1/accounts", {}),
        ("/api/v1/accounts", {"q": "acme", "owner": "me", "tenure": "new_customer"}),
        (f"/api/v1/accounts/{first['id']}/transactions", {}),
    )
    small = []
    for path, params in queries:
        with counted(database) as statements:
            response = await client.get(path, headers=admin.headers, params=params)
        assert response.status_code == 200
        assert len(response.json()["items"]) == 1
        small.append(len(statements))
    for n in range(1, 7):
        account = await create_account(client, admin, name=f"Acme {n}")
        await add_transaction(client, admin, account["id"], 1)
        await add_transaction(client, admin, first["id"], 1, reference=f"R{n}")
    for (path, params), before in zip(queries, small, strict=True):
        with counted(database) as statements:
            response = await client.get(path, headers=admin.headers, params=params)
        assert len(response.json()["items"]) == 7, path
        assert len(statements) == before, (path, statements)
    # Accounts: authenticate, then one statement (rows joined with their status);
    # the ledger: authenticate, the account is live, the lines.
    assert small == [2, 2, 3]


async def test_the_overview_does_not_grow_with_the_account(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, database: Database
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    path = f"/api/v1/accounts/{account['id']}/overview"
    with counted(database) as empty:
        assert (await client.get(path, headers=admin.headers)).status_code == 200
    for n in range(4):
        contact = await create_contact(client, admin, account["id"], first_name=f"C{n}")
        deal = await insert_deal(owner_conn, admin, account["id"], contact_id=contact["id"])
        await insert_deal(owner_conn, admin, account["id"], outcome="won")
        await insert_activity(owner_conn, admin, deal_id=deal)
        await insert_activity(owner_conn, admin, status="done", contact_id=contact["id"])
        await insert_activity(owner_conn, admin, account_id=account["id"])
    with counted(database) as full:
        response = await client.get(path, headers=admin.headers)
    body = response.json()
    assert (len(body["contacts"]), len(body["open_deals"]), len(body["closed_deals"])) == (4, 4, 4)
    assert (len(body["recent_activities"]), len(body["upcoming_activities"])) == (4, 8)
    assert len(full) == len(empty), full
    # authenticate, account with status, contacts, open deals, closed deals, done and
    # planned activities
    assert len(full) == 7, full
