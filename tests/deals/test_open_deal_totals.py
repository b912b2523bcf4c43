"""The reports' rollup of open deals (`open_deal_totals`) stays equal to a recomputation
from the deals: after bulk actions, under concurrent writes to one rollup row, and
after `baton db rebuild-rollups` repairs what `baton doctor` found.

(Single moves, edits, closes, deletes, restores and raw SQL are covered beside the
board's totals in `test_totals.py`, imports in `tests/imports/test_ledger_and_deals.py`.)
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from baton.cli import app as cli_app
from tests.conftest import libpq_dsn
from tests.deals.conftest import NEXT_WEEK, Org
from tests.reports.conftest import open_totals_disagreement

runner = CliRunner()


async def _bulk(client: httpx.AsyncClient, org: Org, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/deals/bulk", headers=org.admin.headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _pipeline(client: httpx.AsyncClient, org: Org, owner: uuid.UUID) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/reports/pipeline", headers=org.admin.headers, params={"owner_id": str(owner)}
    )
    assert response.status_code == 200, response.text
    total: dict[str, Any] = response.json()["total"]
    return total


async def test_bulk_move_owner_change_delete_and_restore_keep_the_rollup_exact(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    tenant = org.admin.tenant_id
    deals = [
        await org.create(client, amount=amount, probability=probability)
        for amount, probability in (("100.00", 40), ("250.00", None), ("30.00", None))
    ]
    deals[0] = await org.walk(client, deals[0], "discovery")
    ids = [d["id"] for d in deals]
    assert await open_totals_disagreement(owner_conn, tenant) == []

    moved = await _bulk(client, org, ids=ids, action="move", to_step_id=str(org.steps["discovery"]))
    assert moved["counts"] == {"moved": 2, "unchanged": 1}, moved
    assert await open_totals_disagreement(owner_conn, tenant) == []

    handed = await _bulk(
        client, org, ids=ids[:2], action="change_owner", owner_id=str(org.admin.user_id)
    )
    assert handed["counts"] == {"updated": 2}, handed
    assert await open_totals_disagreement(owner_conn, tenant) == []
    assert await _pipeline(client, org, org.admin.user_id) == {
        "count": 2,
        "amount": "350.00",
        # Discovery's 20 % for the second, its own 40 % for the first.
        "weighted": "90.00",
    }
    assert (await _pipeline(client, org, org.sales.user_id))["count"] == 1

    deleted = await _bulk(client, org, ids=ids, action="delete")
    assert deleted["counts"] == {"deleted": 3}, deleted
    assert await open_totals_disagreement(owner_conn, tenant) == []
    assert (await _pipeline(client, org, org.admin.user_id))["count"] == 0

    restored = await _bulk(client, org, ids=ids, action="restore")
    assert restored["counts"] == {"restored": 3}, restored
    assert await open_totals_disagreement(owner_conn, tenant) == []
    assert (await _pipeline(client, org, org.admin.user_id))["amount"] == "350.00"


async def test_concurrent_closes_of_deals_counted_in_one_rollup_row_lose_nothing(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    # Same step, owner, currency, probability and close month: one rollup row.
    deals = [
        await org.create(client, amount=f"{n}.50", expected_close_date=NEXT_WEEK)
        for n in range(1, 13)
    ]
    kept = deals.pop()
    responses = await asyncio.gather(
        *(org.close(client, deal, outcome="lost", reason="competitor") for deal in deals)
    )
    assert [r.status_code for r in responses] == [200] * len(deals), [r.text for r in responses]
    assert await open_totals_disagreement(owner_conn, org.admin.tenant_id) == []
    assert await _pipeline(client, org, org.sales.user_id) == {
        "count": 1,
        "amount": kept["amount"],
        "weighted": "1.25",  # Prospecting's 10 % of 12.50
    }


async def _update_in(conn: asyncpg.Connection, deal_id: uuid.UUID, step_id: uuid.UUID) -> None:
    await conn.execute("UPDATE deals SET step_id = $2 WHERE id = $1", deal_id, step_id)


async def test_two_transactions_crossing_between_the_same_rows_wait_and_both_count(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, owner_url: URL
) -> None:
    """Two open transactions each move a deal between the same two rollup rows, in
    opposite directions: the second waits for the first's row locks (taken in key
    order, so no deadlock) and neither update is lost."""
    first = await org.create(client, amount="10.00")
    second = await org.walk(client, await org.create(client, amount="20.00"), "discovery")
    dsn = libpq_dsn(owner_url)
    one, two = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        tx_one, tx_two = one.transaction(), two.transaction()
        await tx_one.start()
        await tx_two.start()
        await _update_in(one, uuid.UUID(first["id"]), org.steps["discovery"])
        crossing = asyncio.create_task(
            _update_in(two, uuid.UUID(second["id"]), org.steps["prospecting"])
        )
        await asyncio.sleep(0.3)
        assert not crossing.done()  # waiting for the first transaction's rows
        await tx_one.commit()
        await asyncio.wait_for(crossing, 10)
        await tx_two.commit()
    finally:
        await one.close()
        await two.close()
    assert await open_totals_disagreement(owner_conn, org.admin.tenant_id) == []
    by_step = {
        r["step_id"]: (r["n"], r["total"])
        for r in await owner_conn.fetch(
            "SELECT step_id, sum(deal_count) AS n, sum(amount_total)::text AS total"
            " FROM open_deal_totals WHERE tenant_id = $1 GROUP BY step_id",
            org.admin.tenant_id,
        )
    }
    assert by_step == {
        org.steps["prospecting"]: (1, "20.00"),
        org.steps["discovery"]: (1, "10.00"),
    }


def _cli(*args: str) -> Any:
    return runner.invoke(cli_app, list(args))


async def test_the_doctor_finds_a_wrong_rollup_and_the_rebuild_repairs_it_idempotently(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    await org.create(client, amount="70.00", expected_close_date=NEXT_WEEK)
    await org.create(client, amount="5.00")
    slug, tenant = org.admin.tenant_slug, org.admin.tenant_id
    # Written behind the triggers' back: one row off by a deal, one deal not counted.
    await owner_conn.execute(
        "UPDATE open_deal_totals SET deal_count = deal_count + 1"
        " WHERE tenant_id = $1 AND close_month IS NOT NULL",
        tenant,
    )
    await owner_conn.execute(
        "DELETE FROM open_deal_totals WHERE tenant_id = $1 AND close_month IS NULL", tenant
    )
    assert len(await open_totals_disagreement(owner_conn, tenant)) == 3

    found = await asyncio.to_thread(_cli, "doctor", "--tenant", slug, "--json")
    assert found.exit_code == 1, found.output
    findings = {f["check"]: f for f in json.loads(found.stdout)["findings"]}
    assert set(findings) == {"open_deal_totals"}
    assert findings["open_deal_totals"]["count"] == 3

    for _ in range(2):
        rebuilt = await asyncio.to_thread(_cli, "db", "rebuild-rollups", "--tenant", slug)
        assert rebuilt.exit_code == 0, rebuilt.output
        # Two creations on one day: one row of the ledger's rollups.
        assert rebuilt.stdout == (
            f"{slug}: 2 open deal total row(s), 1 workflow move row(s), 0 activity day row(s)\n"
        )
        assert await open_totals_disagreement(owner_conn, tenant) == []
    clean = await asyncio.to_thread(_cli, "doctor", "--tenant", slug)
    assert clean.exit_code == 0, clean.output

    unknown = await asyncio.to_thread(_cli, "db", "rebuild-rollups", "--tenant", "no-such-org")
    assert unknown.exit_code == 2
