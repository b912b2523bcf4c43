"""Lead lists issue a constant number of SQL statements, however many leads they show."""

from __future__ import annotations

import httpx

from baton.db.engine import Database
from tests.identity.test_statement_counts import counted
from tests.leads.conftest import Org


async def test_lead_lists_do_not_grow_with_the_page(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    await org.create(client)
    await org.pooled(client)
    views = (("inbox", org.marketing), ("pool", org.sales))
    small = []
    for view, member in views:
        with counted(database) as statements:
            response = await client.get(
                "/api/v1/leads", params={"view": view}, headers=member.headers
            )
        assert len(response.json()["items"]) == 1
        small.append(len(statements))
    for _ in range(5):
        await org.create(client)
        await org.pooled(client)
    for (view, member), before in zip(views, small, strict=True):
        with counted(database) as statements:
            response = await client.get(
                "/api/v1/leads", params={"view": view}, headers=member.headers
            )
        assert len(response.json()["items"]) == 6
        assert len(statements) == before, (view, statements)
    # Authenticate, then one statement: the leads with their steps and pool entries.
    assert small == [2, 2]
