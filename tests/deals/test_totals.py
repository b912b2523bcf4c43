"""The board's maintained counts and sums (`pipeline_column_totals`) stay exact, and so
does the reports' rollup of open deals (`open_deal_totals`).

After every kind of write to deals, through the API or as raw SQL, the totals must
equal a fresh GROUP BY over the live deals: the triggers keep them, not the service.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from baton.db.engine import Database
from tests.deals.conftest import Org
from tests.identity.test_statement_counts import counted
from tests.reports.conftest import open_totals_disagreement

Figures = dict[tuple[uuid.UUID, uuid.UUID, str], tuple[int, int, Decimal]]


async def _maintained(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Figures:
    rows = await owner_conn.fetch(
        "SELECT workflow_id, step_id, currency, sum(deal_count) AS n, sum(amount_count) AS priced,"
        " sum(amount_total) AS total FROM pipeline_column_totals WHERE tenant_id = $1"
        " GROUP BY 1, 2, 3 HAVING sum(deal_count) > 0",
        tenant_id,
    )
    return {
        (r["workflow_id"], r["step_id"], r["currency"]): (r["n"], r["priced"], r["total"])
        for r in rows
    }


async def _fresh(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Figures:
    rows = await owner_conn.fetch(
        "SELECT workflow_id, step_id, currency, count(*) AS n, count(amount) AS priced,"
        " coalesce(sum(amount), 0) AS total FROM deals"
        " WHERE tenant_id = $1 AND deleted_at IS NULL GROUP BY 1, 2, 3",
        tenant_id,
    )
    return {
        (r["workflow_id"], r["step_id"], r["currency"]): (r["n"], r["priced"], r["total"])
        for r in rows
    }


async def _assert_exact(owner_conn: asyncpg.Connection, org: Org) -> Figures:
    fresh = await _fresh(owner_conn, org.admin.tenant_id)
    assert await _maintained(owner_conn, org.admin.tenant_id) == fresh
    assert await open_totals_disagreement(owner_conn, org.admin.tenant_id) == []
    return fresh


async def _board(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/pipeline", headers=org.sales.headers, params={"per_column": 2}
    )
    assert response.status_code == 200, response.text
    return {c["step"]["key"]: c for c in response.json()["columns"]}


async def test_totals_follow_creates_moves_edits_closes_and_deletes(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deals = [
        await org.create(client, amount=amount, currency=currency)
        for amount, currency in (("100.00", "EUR"), ("250.50", "EUR"), ("40.00", "USD"))
    ]
    unpriced = await org.create(client, currency="GBP")
    fresh = await _assert_exact(owner_conn, org)
    assert sum(n for n, _, _ in fresh.values()) == 4

    moved = await org.walk(client, deals[0], "discovery")
    await _assert_exact(owner_conn, org)

    edited = await client.patch(
        f"/api/v1/deals/{deals[1]['id']}",
        headers={**org.sales.headers, "If-Match": '"1"'},
        json={"amount": "99.99", "currency": "USD"},
    )
    assert edited.status_code == 200, edited.text
    await _assert_exact(owner_conn, org)

    won = await org.walk(client, moved, "proposal", "negotiation")
    closed = await org.close(client, won, outcome="won", reason="price")
    assert closed.status_code == 200, closed.text
    lost = await org.close(client, deals[2], outcome="lost", reason="competitor")
    assert lost.status_code == 200, lost.text
    await _assert_exact(owner_conn, org)

    deleted = await client.delete(
        f"/api/v1/deals/{unpriced['id']}", headers=org.sales.headers, params={"version": 1}
    )
    assert deleted.status_code == 204
    fresh = await _assert_exact(owner_conn, org)
    assert all(currency != "GBP" for _, _, currency in fresh)

    columns = await _board(client, org)
    assert columns["won"]["count"] == 1
    assert columns["won"]["totals"] == [{"currency": "EUR", "amount": "1000.00"}]
    assert columns["lost"]["totals"] == [{"currency": "USD", "amount": "40.00"}]
    assert columns["prospecting"]["totals"] == [{"currency": "USD", "amount": "99.99"}]


async def test_account_delete_and_restore_take_and_bring_back_its_open_deals(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    kept = await org.create(client, amount="10.00")
    for amount in ("20.00", "30.00"):
        await org.create(client, amount=amount)
    await org.close(client, kept, outcome="lost", reason="competitor")
    before = await _assert_exact(owner_conn, org)

    account = f"/api/v1/accounts/{org.account_id}"
    deleted = await client.delete(account, headers={**org.admin.headers, "If-Match": "1"})
    assert deleted.status_code == 204, deleted.text
    # The open deals left with the account; the lost one stays on the board.
    after_delete = await _assert_exact(owner_conn, org)
    assert [n for n, _, _ in after_delete.values()] == [1]

    restored = await client.post(f"{account}/restore", headers=org.admin.headers)
    assert restored.status_code == 200, restored.text
    assert await _assert_exact(owner_conn, org) == before


async def test_a_deal_restore_brings_its_figures_back_to_its_column(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    await org.create(client, amount="10.00")
    gone, squatter = [
        await org.walk(client, await org.create(client, amount=amount, currency="USD"), "discovery")
        for amount in ("25.50", "4.50")
    ]
    before = await _assert_exact(owner_conn, org)
    deleted = await client.delete(
        f"/api/v1/deals/{gone['id']}",
        headers=org.sales.headers,
        params={"version": gone["version"]},
    )
    assert deleted.status_code == 204, deleted.text
    assert (await _board(client, org))["discovery"]["totals"] == [
        {"currency": "USD", "amount": "4.50"}
    ]
    await _assert_exact(owner_conn, org)
    # Its place taken meanwhile: the restore moves it (an UPDATE of a deleted row) before
    # bringing it back; neither may count twice.
    await owner_conn.execute(
        "UPDATE deals SET rank = $2 WHERE id = $1", uuid.UUID(squatter["id"]), gone["rank"]
    )
    restored = await client.post(f"/api/v1/deals/{gone['id']}/restore", headers=org.sales.headers)
    assert restored.status_code == 200, restored.text
    assert await _assert_exact(owner_conn, org) == before
    discovery = (await _board(client, org))["discovery"]
    assert discovery["count"] == 2
    assert discovery["totals"] == [{"currency": "USD", "amount": "30.00"}]


async def test_concurrent_moves_between_two_columns_keep_totals_exact(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deals = [await org.create(client, amount=f"{n}.25") for n in range(1, 25)]
    # Half start in Discovery, so the moves below cross in both directions at once.
    deals[12:] = [await org.walk(client, d, "discovery") for d in deals[12:]]
    await _assert_exact(owner_conn, org)

    for _ in range(2):
        targets = [
            "discovery" if d["step"]["key"] == "prospecting" else "prospecting" for d in deals
        ]
        responses = await asyncio.gather(
            *(org.move(client, d, to) for d, to in zip(deals, targets, strict=True))
        )
        assert [r.status_code for r in responses] == [200] * len(deals), [
            r.text for r in responses if r.status_code != 200
        ]
        deals = [r.json()["deal"] for r in responses]
        await _assert_exact(owner_conn, org)

    columns = await _board(client, org)
    assert (columns["prospecting"]["count"], columns["discovery"]["count"]) == (12, 12)
    total = sum(Decimal(f"{n}.25") for n in range(1, 25))
    assert (
        sum(
            Decimal(t["amount"])
            for key in ("prospecting", "discovery")
            for t in columns[key]["totals"]
        )
        == total
    )


async def test_raw_sql_as_the_app_role_keeps_totals_exact(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
) -> None:
    edited, removed = [await org.create(client, amount="12.00") for _ in range(2)]
    await _assert_exact(owner_conn, org)
    async with app_conn.transaction():
        await app_conn.execute(
            "SELECT set_config('baton.tenant_id', $1, true)", str(org.admin.tenant_id)
        )
        await app_conn.execute(
            "UPDATE deals SET amount = 70.00, currency = 'CHF' WHERE id = $1",
            uuid.UUID(edited["id"]),
        )
        await app_conn.execute(
            "UPDATE deals SET deleted_at = now(), deletion_id = gen_random_uuid() WHERE id = $1",
            uuid.UUID(removed["id"]),
        )
    fresh = await _assert_exact(owner_conn, org)
    assert [(currency, figures) for (_, _, currency), figures in fresh.items()] == [
        ("CHF", (1, 1, Decimal("70.00")))
    ]
    async with app_conn.transaction():
        await app_conn.execute(
            "SELECT set_config('baton.tenant_id', $1, true)", str(org.admin.tenant_id)
        )
        await app_conn.execute(
            "UPDATE deals SET deleted_at = NULL, deletion_id = NULL WHERE id = $1",
            uuid.UUID(removed["id"]),
        )
    assert len(await _assert_exact(owner_conn, org)) == 2


async def test_the_whole_board_reads_the_totals_in_constant_statements(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, database: Database
) -> None:
    await _board(client, org)
    with counted(database) as empty:
        await _board(client, org)
    for amount, currency in (("1.50", "EUR"), (None, "EUR"), (None, "SEK"), ("3.00", "USD")):
        await org.create(client, **({"amount": amount} if amount else {}), currency=currency)
    with counted(database) as full:
        columns = await _board(client, org)
    # authenticate, the Deal type's workflow, totals, cards
    assert len(full) == len(empty) == 4, full
    assert any("pipeline_column_totals" in statement for statement in full)
    prospecting = columns["prospecting"]
    assert prospecting["count"] == 4
    # SEK has a deal but no amount: no total, as a SUM over the deals says.
    assert {t["currency"]: t["amount"] for t in prospecting["totals"]} == {
        "EUR": "1.50",
        "USD": "3.00",
    }
    fresh = await _assert_exact(owner_conn, org)
    assert sum(n for n, _, _ in fresh.values()) == prospecting["count"]
