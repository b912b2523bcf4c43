"""Deal lists and a deal's history issue a constant number of SQL statements, however
many rows they show (DESIGN §7: no N+1). The board has its own test
(tests/deals/test_board.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from baton.db.engine import Database
from tests.deals.conftest import Org
from tests.identity.test_statement_counts import counted

YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


async def _add_round(client: httpx.AsyncClient, org: Org) -> None:
    """One deal in every list: an open, overdue deal of the caller, and a lost one."""
    await org.create(client, next_step_due_date=YESTERDAY, amount="10.00")
    lost = await org.close(client, await org.create(client), outcome="lost", reason="price")
    assert lost.status_code == 200, lost.text


async def test_every_deal_list_view_does_not_grow_with_the_page(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    queries: list[dict[str, str]] = [
        {},
        {"view": "pipeline"},
        {"view": "mine"},
        {"view": "overdue"},
        {"view": "closed"},
        {"account_id": str(org.account_id)},
        {"view": "closed", "account_id": str(org.account_id)},
    ]

    async def measure() -> list[tuple[int, int]]:
        measured = []
        for params in queries:
            with counted(database) as statements:
                response = await client.get(
                    "/api/v1/deals", headers=org.sales.headers, params={**params, "limit": "50"}
                )
            assert response.status_code == 200, response.text
            measured.append((len(response.json()["items"]), len(statements)))
        return measured

    await _add_round(client, org)
    small = await measure()
    for _ in range(6):
        await _add_round(client, org)
    large = await measure()
    assert [shown for shown, _ in small] == [2, 1, 1, 1, 1, 2, 1]
    assert [shown for shown, _ in large] == [14, 7, 7, 7, 7, 14, 7]
    # Authenticate, then the page with each deal's step, whatever the view.
    assert [n for _, n in small] == [n for _, n in large] == [2] * len(queries), (small, large)


async def test_a_deals_history_does_not_grow_with_its_moves(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    deal = await org.create(client)
    url = f"/api/v1/deals/{deal['id']}/history"
    with counted(database) as short:
        response = await client.get(url, headers=org.sales.headers)
    assert len(response.json()) == 1
    deal = await org.walk(client, deal, "discovery", "proposal", "negotiation")
    deal = await org.walk(client, deal, "proposal", "discovery", "prospecting", "discovery")
    closed = await org.close(client, deal, outcome="lost", reason="timing")
    assert closed.status_code == 200, closed.text
    with counted(database) as long:
        response = await client.get(url, headers=org.sales.headers)
    assert response.status_code == 200, response.text
    assert len(response.json()) == 9
    # Authenticate, the deal, its history, the steps it names (one statement for all).
    assert len(long) == len(short) == 4, long
