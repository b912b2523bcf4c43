"""The deals list page (`/deals`): filters and sort from the URL, headings that sort,
"Load more" in a constant number of statements, saved views as tabs, and phones'
stacked rows."""

from __future__ import annotations

import html
import re

import asyncpg
import httpx

from baton.db.engine import Database
from tests.deals.conftest import Org, insert_account, org
from tests.identity.test_statement_counts import counted
from tests.web.test_workflow_pages import HTMX, _sign_in

__all__ = ["org"]

MORE = re.compile(r'hx-get="(/deals\?[^"]*part=rows[^"]*)"')


def _deals(page: str) -> list[str]:
    return [html.unescape(name) for name in re.findall(r'<tr data-deal="([^"]*)"', page)]


async def test_the_list_filters_and_sorts_from_its_url(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    other = await insert_account(owner_conn, org.admin, "Other Co")
    await org.create(client, name="Small", amount="5.00")
    await org.create(client, name="Big", amount="5000.00")
    await org.create(client, name="Elsewhere", amount="700.00", account_id=str(other))
    await _sign_in(client, org.sales)
    page = await client.get("/deals")
    assert page.status_code == 200, page.text
    assert _deals(page.text) == ["Small", "Big", "Elsewhere"]
    assert 'class="deals-list stacked"' in page.text
    assert 'data-label="Next step due"' in page.text
    assert 'href="/pipeline">Board</a>' in page.text
    page = await client.get("/deals?sort=-amount")
    assert _deals(page.text) == ["Big", "Elsewhere", "Small"]
    # The heading sorts the other way next, keeping the filters.
    assert 'href="/deals?sort=amount" data-sort="amount"' in page.text
    page = await client.get("/deals?sort=name&amount_min=100")
    assert _deals(page.text) == ["Big", "Elsewhere"]
    assert 'href="/deals?amount_min=100&amp;sort=-name" data-sort="name"' in page.text
    # A link with a value the list cannot read keeps the rest and says so.
    page = await client.get("/deals?sort=sideways&amount_min=100")
    assert page.status_code == 200
    assert sorted(_deals(page.text)) == ["Big", "Elsewhere"]
    assert "could not be read" in page.text
    # The board links to the list.
    board = await client.get("/pipeline")
    assert 'href="/deals">List</a>' in board.text


async def test_load_more_follows_the_sort_in_a_constant_number_of_statements(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    for index in range(55):
        await org.create(client, name=f"Deal {index:02d}", amount=f"{index + 1}.00")
    await _sign_in(client, org.sales)
    first = await client.get("/deals?sort=-amount")
    names = _deals(first.text)
    assert len(names) == 50
    match = MORE.search(first.text)
    assert match
    with counted(database) as statements:
        more = await client.get(html.unescape(match.group(1)), headers=HTMX)
    assert more.status_code == 200, more.text
    names += _deals(more.text)
    assert names == [f"Deal {index:02d}" for index in reversed(range(55))]
    assert MORE.search(more.text) is None
    # Authenticate, the page of deals.
    assert len(statements) == 2, statements


async def test_a_view_saved_from_the_list_becomes_its_tab(
    client: httpx.AsyncClient, org: Org
) -> None:
    await org.create(client, name="Big", amount="5000.00")
    await org.create(client, name="Small", amount="5.00")
    token = await _sign_in(client, org.sales)
    page = await client.get("/deals?amount_min=1000&sort=-amount")
    assert 'name="query" value="amount_min=1000&amp;sort=-amount"' in page.text
    saved = await client.post(
        "/views",
        data={
            "csrf_token": token,
            "list": "deals",
            "name": "Big deals",
            "query": "amount_min=1000&sort=-amount",
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/deals?amount_min=1000&sort=-amount"
    listed = await client.get("/deals")
    assert 'href="/deals?amount_min=1000&amp;sort=-amount" data-view-tab="Big deals"' in listed.text
    tab = await client.get(saved.headers["location"])
    assert 'data-view-tab="Big deals" aria-current="page"' in tab.text
    assert _deals(tab.text) == ["Big"]
    assert "Delete view" in tab.text
    # The same name again is refused in words.
    again = await client.post(
        "/views",
        data={"csrf_token": token, "list": "deals", "name": "Big deals", "query": "sort=name"},
        headers=HTMX,
    )
    assert again.status_code == 409
    assert "already have a view" in again.text


async def test_an_accounts_view_is_a_tab_of_the_accounts_list(
    client: httpx.AsyncClient, org: Org
) -> None:
    saved = await client.post(
        "/api/v1/views",
        headers=org.sales.headers,
        json={"list": "accounts", "name": "Prospects", "query": {"tenure": "prospect"}},
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["url"] == "/accounts?tenure=prospect"
    await _sign_in(client, org.sales)
    page = await client.get("/accounts")
    assert 'data-view-tab="Prospects"' in page.text
    tab = await client.get("/accounts?tenure=prospect")
    assert 'data-view-tab="Prospects" aria-current="page"' in tab.text
