"""The deals CSV as PostgreSQL's COPY writes it (`baton.exports.statements`): the exact
bytes, what RLS and roles let through, the list's filters, a client that leaves."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from tests.accounts.support import create_account, insert_deal, pipeline_steps
from tests.exports.test_lists import export, rows_of
from tests.factories import add_member, register_tenant


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_the_deals_csv_byte_for_byte(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """BOM, header, quoting (comma, quote, newline), formula-like text neutralised in
    every text column, empty text and no value, amounts with two decimals, dates ISO,
    times in UTC to the second, LF line ends."""
    admin = await register_tenant(client)
    account = await create_account(client, admin, name='Acme, "the" one')
    deal_id = await insert_deal(owner_conn, admin, account["id"], name="=HYPERLINK(1)")
    await owner_conn.execute(
        "UPDATE deals SET amount = 1234.5, probability = 40, next_step = E'\\tcall',"
        " next_step_due_date = '2027-01-31', expected_close_date = '2027-02-28',"
        " source = E'-fair\\nbooth' WHERE id = $1",
        deal_id,
    )
    written = await owner_conn.fetchrow(
        "SELECT entered_step_at, created_at, updated_at FROM deals WHERE id = $1", deal_id
    )
    response = await export(client, admin, "deals")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    header = (
        "ID,Name,Account,Account ID,Owner,Stage,Stage category,Amount,Currency,"
        "Probability (%),Expected close date,Next step,Next step due date,Outcome,"
        "Win reason,Loss reason,Closed at (UTC),Source,Entered stage at (UTC),"
        "Created at (UTC),Updated at (UTC)\n"
    )
    row = (
        f'{deal_id},\'=HYPERLINK(1),"Acme, ""the"" one",{account["id"]},{admin.email},'
        "Prospecting,open,1234.50,EUR,40,2027-02-28,'\tcall,2027-01-31,,,,,"
        '"\'-fair\nbooth",'
        f"{utc(written['entered_step_at'])},{utc(written['created_at'])},"
        f"{utc(written['updated_at'])}\n"
    )
    assert response.content == ("\ufeff" + header + row).encode()


async def test_only_the_callers_organization_and_live_deals(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The COPY statement has no tenant condition of its own: RLS alone keeps another
    organization's deals out; deleted deals are not listed; every role reads the
    organization's deals as the list shows them; no credential is 401."""
    a = await register_tenant(client)
    b = await register_tenant(client)
    mine = await create_account(client, a, name="Mine")
    theirs = await create_account(client, b, name="Theirs")
    kept = await insert_deal(owner_conn, a, mine["id"], name="Kept")
    gone = await insert_deal(owner_conn, a, mine["id"], name="Gone")
    their_deal = await insert_deal(owner_conn, b, theirs["id"], name="Theirs")
    deleted = await client.delete(
        f"/api/v1/deals/{gone}",
        headers=a.headers,
        params={
            "version": await owner_conn.fetchval("SELECT version FROM deals WHERE id = $1", gone)
        },
    )
    assert deleted.status_code == 204, deleted.text
    for member in [a, *[await add_member(client, a, role) for role in ("viewer", "marketing")]]:
        rows = rows_of(await export(client, member, "deals"))
        assert [row["ID"] for row in rows] == [str(kept)], member.role
    assert [row["ID"] for row in rows_of(await export(client, b, "deals"))] == [str(their_deal)]
    assert (await client.get("/api/v1/exports/deals")).status_code == 401


async def test_the_lists_filters_and_owner_me(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    account = await create_account(client, admin, name="Acme")
    small = await insert_deal(owner_conn, admin, account["id"], name="Small")
    large = await insert_deal(owner_conn, sales, account["id"], name="Large")
    await owner_conn.execute("UPDATE deals SET amount = 50 WHERE id = $1", small)
    await owner_conn.execute("UPDATE deals SET amount = 5000 WHERE id = $1", large)
    names = [r["Name"] for r in rows_of(await export(client, admin, "deals", sort="-amount"))]
    assert names == ["Large", "Small"]
    assert [r["Name"] for r in rows_of(await export(client, admin, "deals", amount_min="100"))] == [
        "Large"
    ]
    assert [r["Name"] for r in rows_of(await export(client, sales, "deals", owner="me"))] == [
        "Large"
    ]
    assert [
        r["Name"] for r in rows_of(await export(client, admin, "deals", stage="discovery"))
    ] == []
    assert len(rows_of(await export(client, admin, "deals", stage="prospecting"))) == 2
    bad = await export(client, admin, "deals", amount_min="lots")
    assert bad.status_code == 422, bad.text


async def test_a_client_gone_mid_copy_ends_the_request(
    app: Any, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """Thousands of deals, the client hangs up after the first chunk: nothing more is
    sent, the COPY runs out (no cancel request: see `service._copied_csv`) before the
    transaction ends, and the connection serves the next request."""
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Acme")
    steps = await pipeline_steps(owner_conn, admin.tenant_id)
    await owner_conn.execute(
        "INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount, currency,"
        " next_step, next_step_due_date, workflow_id, step_id, entered_step_at, rank)"
        " SELECT $1, gen_random_uuid(), 'Deal ' || g, $2, $3, g, 'EUR', 'Call', current_date,"
        " $4, $5, now(), 'r' || g FROM generate_series(1, 5000) AS g",
        admin.tenant_id,
        uuid.UUID(account["id"]),
        admin.user_id,
        steps["workflow_id"],
        steps["prospecting"],
    )
    gone = asyncio.Event()
    started = False
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal started
        if not started:
            started = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal received
        if message["type"] == "http.response.body" and message.get("body"):
            received += len(message["body"])
            gone.set()
            await asyncio.sleep(0.05)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/exports/deals",
        "raw_path": b"/api/v1/exports/deals",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {admin.token}".encode())],
        "client": ("127.0.0.11", 40000),
        "server": ("testserver", 80),
        "app": app,
    }
    await asyncio.wait_for(app(scope, receive, send), 30)
    whole = await export(client, admin, "deals")
    assert 0 < received < len(whole.content) / 2
    assert len(rows_of(whole)) == 5000
