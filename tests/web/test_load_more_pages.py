""" "Load more" on the lead queues and Targets: each click appends the next cursor page's
rows (the pool in claim-due order), keeps the page's filters, stops when nothing is
left, and costs the same statements on every page. The page size is shrunk to 2 here
so a handful of records spans several pages."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db.engine import Database
from baton.leads import web as lead_pages
from baton.targets import web as target_pages
from tests.factories import add_member, register_tenant, unique
from tests.identity.test_statement_counts import counted
from tests.leads import conftest as lead_fixtures
from tests.leads.conftest import Org
from tests.targets.support import bring_to, create_target
from tests.web.test_workflow_pages import HTMX, _sign_in

org = lead_fixtures.org
MORE = re.compile(r'<button type="button" class="secondary" hx-get="([^"]+)"[^>]*>Load more<')


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lead_pages, "PAGE_SIZE", 2)
    monkeypatch.setattr(target_pages, "PAGE_SIZE", 2)


def _more_url(page: str) -> str | None:
    match = MORE.search(page)
    return html.unescape(match.group(1)) if match else None


def _lead_ids(page: str) -> list[str]:
    return re.findall(r'<tr id="lead-([0-9a-f-]{36})"', page)


async def _walk(
    client: httpx.AsyncClient,
    database: Database,
    first_path: str,
    ids_of: Callable[[str], list[str]],
) -> tuple[list[list[str]], list[int], list[str]]:
    """The first page, then every "Load more" until it stops: the ids each answer
    showed, the statements each "Load more" cost and the answers."""
    first = await client.get(first_path)
    assert first.status_code == 200, first.text
    pages, costs, answers = [ids_of(first.text)], [], [first.text]
    url = _more_url(first.text)
    while url is not None:
        assert "part=rows" in url
        with counted(database) as statements:
            more = await client.get(url, headers=HTMX)
        assert more.status_code == 200, more.text
        assert "<table" not in more.text  # rows only, appended in place of the button
        pages.append(ids_of(more.text))
        costs.append(len(statements))
        answers.append(more.text)
        url = _more_url(more.text)
        assert len(pages) < 10, "Load more never stops"
    return pages, costs, answers


Make = Callable[[httpx.AsyncClient, Org], Awaitable[dict[str, Any]]]


async def _inbox(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    return await org.create(client)


async def _nurture(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    return await org.walk(client, await org.create(client), "in_review", "nurture")


async def _disqualified(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    lead = await org.walk(client, await org.create(client), "in_review")
    answer = await org.triage(client, lead, "disqualified", reason="no_fit")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _mine(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    lead = await org.pooled(client)
    assert (await org.action(client, lead, "claim")).status_code == 200
    return lead


async def _converted(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    lead = await _mine(client, org)
    assert (await org.action(client, lead, "convert")).status_code == 200
    return lead


QUEUES: dict[str, tuple[Make, str]] = {
    "inbox": (_inbox, "marketing"),
    "nurture": (_nurture, "marketing"),
    "disqualified": (_disqualified, "marketing"),
    "mine": (_mine, "sales"),
    "converted": (_converted, "manager"),
}


@pytest.mark.parametrize("queue", list(QUEUES))
async def test_load_more_walks_a_lead_queue_to_its_end(
    client: httpx.AsyncClient, org: Org, database: Database, queue: str
) -> None:
    make, role = QUEUES[queue]
    leads = [await make(client, org) for _ in range(5)]
    await _sign_in(client, getattr(org, role))
    pages, costs, _ = await _walk(client, database, f"/leads/{queue}", _lead_ids)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [lead_id for page in pages for lead_id in page] == [lead["id"] for lead in leads]
    assert costs[0] == costs[1]  # a constant number of statements per page


async def test_load_more_on_the_sales_inbox_follows_the_claim_due_order(
    client: httpx.AsyncClient, org: Org, database: Database, owner_conn: asyncpg.Connection
) -> None:
    leads = [await org.pooled(client) for _ in range(5)]
    # Claim dues against creation order (the last lead is due first), two of them equal:
    # the cursor is the sort key itself, due time then id.
    soon = datetime.now(UTC) + timedelta(hours=1)
    dues = [soon + timedelta(minutes=m) for m in (40, 30, 20, 20, 10)]
    for lead, due in zip(leads, dues, strict=True):
        await owner_conn.execute(
            "UPDATE lead_pool SET claim_due_at = $2 WHERE lead_id = $1",
            uuid.UUID(lead["id"]),
            due,
        )
    expected = [lead["id"] for lead in (leads[4], leads[2], leads[3], leads[1], leads[0])]

    await _sign_in(client, org.manager)
    pages, costs, answers = await _walk(client, database, "/leads/pool", _lead_ids)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [lead_id for page in pages for lead_id in page] == expected
    assert costs[0] == costs[1]
    # Appended rows carry the same controls as the first page's.
    for answer, page in zip(answers[1:], pages[1:], strict=True):
        for lead_id in page:
            assert f'action="/leads/{lead_id}/claim"' in answer
            assert f'action="/leads/{lead_id}/assign"' in answer

    refused = await client.get("/leads/pool", params={"cursor": "junk", "part": "rows"})
    assert refused.status_code == 422


async def test_load_more_on_the_teams_leads_continues_each_owners_group(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    claimers = [org.sales, org.other_sales, org.sales, org.other_sales, org.sales]
    claimed: list[tuple[uuid.UUID, str]] = []
    for member in claimers:
        lead = await org.pooled(client)
        answer = await org.action(client, lead, "claim", member=member)
        assert answer.status_code == 200, answer.text
        claimed.append((member.user_id, lead["id"]))
    # Both salespeople are called "Sales Person": then by owner, then claim order.
    expected = [lead_id for _, lead_id in sorted(claimed, key=lambda c: (c[0], uuid.UUID(c[1])))]

    await _sign_in(client, org.manager)
    pages, costs, answers = await _walk(client, database, "/leads/team", _lead_ids)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [lead_id for page in pages for lead_id in page] == expected
    assert costs[0] == costs[1]
    # One header per owner over all pages: a page that goes on with the previous
    # page's owner does not open the group again.
    headers = [answer.count('class="owner-group"') for answer in answers]
    assert sum(headers) == 2, headers
    assert all('href="/deals/' in answer for answer in answers)

    for member in (org.sales, org.marketing):
        await _sign_in(client, member)
        for path in ("/leads/team", "/leads/converted"):
            assert (await client.get(path)).status_code == 403, (member.role, path)


async def test_load_more_on_targets_keeps_the_status_and_the_search(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    prefix = unique("Zephyr")
    wanted = []
    for n in range(5):
        target = await create_target(client, admin, company_name=f"{prefix} {n}")
        if n % 2 == 0:
            wanted.append(target["id"])  # new targets matching the search
        else:
            await bring_to(client, admin, target, "contacted")
    for _ in range(3):  # new targets the search leaves out
        await create_target(client, admin, company_name=unique("Other"))
    await _sign_in(client, admin)

    def target_ids(page: str) -> list[str]:
        return re.findall(r'<tr id="target-([0-9a-f-]{36})"', page)

    path = f"/targets?status=new_target&q={prefix}"
    pages, _, answers = await _walk(client, database, path, target_ids)
    assert [len(page) for page in pages] == [2, 1]
    assert [target_id for page in pages for target_id in page] == wanted
    more = _more_url(answers[0])
    assert more is not None
    assert "status=new_target" in more
    assert f"q={prefix}" in more
    assert "Move" in answers[1]  # appended rows keep their controls

    everything, costs, _ = await _walk(client, database, "/targets", target_ids)
    assert [len(page) for page in everything] == [2, 2, 2, 2]
    assert len(set(costs)) == 1  # a constant number of statements per page


async def test_viewers_load_more_targets_without_controls(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    for _ in range(3):
        await create_target(client, admin)
    await _sign_in(client, await add_member(client, admin, "viewer"))
    first = await client.get("/targets")
    url = _more_url(first.text)
    assert url is not None
    more = await client.get(url, headers=HTMX)
    assert len(re.findall(r'<tr id="target-', more.text)) == 1
    assert "hx-post" not in more.text
    assert _more_url(more.text) is None
