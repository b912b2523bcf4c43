"""Lead lists issue a constant number of SQL statements, however many leads they show;
a claim sends a fixed few."""

from __future__ import annotations

import asyncpg
import httpx

from baton.cadences.service import DEFAULT_CADENCE_STEPS
from baton.db.engine import Database
from tests.factories import unique
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


async def test_a_claim_sends_four_statements_after_authentication(
    client: httpx.AsyncClient, org: Org, database: Database, owner_conn: asyncpg.Connection
) -> None:
    """The claim is the journey's hot path (DESIGN §7). After authentication: the lead
    with its pool row taken; the account locks with what the deal needs read along;
    the account found or created; the deal, the lead's move, the cadence enrolment with
    its activities and the timeline entry; the outbox's `lead.claimed` and
    `deal.created` (issue 15, one statement). (Before issue 5's budget work: 18.)"""
    # The first claim of the process compiles the Deal workflow (cached afterwards).
    warm_up = await org.action(client, await org.pooled(client), "claim")
    assert warm_up.status_code == 200, warm_up.text
    domain = f"{unique('counted')}.example"
    new_account = await org.pooled(client, email=f"a@{domain}")
    same_account = await org.pooled(client, email=f"b@{domain}")
    for lead in (new_account, same_account):
        with counted(database) as statements:
            response = await org.action(client, lead, "claim")
        assert response.status_code == 200, response.text
        assert len(response.json()["activities"]) == len(DEFAULT_CADENCE_STEPS)
        assert len(statements) == 6, statements
    # Without a default cadence (one "First contact" instead): the same statements.
    await owner_conn.execute(
        "UPDATE cadences SET is_default = false WHERE tenant_id = $1", org.admin.tenant_id
    )
    lead = await org.pooled(client)
    with counted(database) as statements:
        response = await org.action(client, lead, "claim")
    assert response.status_code == 200, response.text
    assert [a["subject"] for a in response.json()["activities"]] == ["First contact"]
    assert len(statements) == 6, statements
