"""The deals list page (`/deals`): filters and sort from the URL, headings that sort,
"Load more" in a constant number of statements, saved views as tabs, and phones'
stacked rows."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

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


async def test_amount_filters_take_and_show_the_organizations_locale(
    client: httpx.AsyncClient, org: Org
) -> None:
    """In a de-DE organization the amount boxes read `1.234,50` (not the browser's
    number format), links carry plain decimals, and what is no amount is named with
    an example, the rest of the filters still applied."""
    settings = await client.get("/api/v1/settings", headers=org.admin.headers)
    localized = await client.patch(
        "/api/v1/settings",
        headers=org.admin.headers,
        json={"locale": "de-DE", "version": settings.json()["version"]},
    )
    assert localized.status_code == 200, localized.text
    await org.create(client, name="Small", amount="1234.00")
    await org.create(client, name="Big", amount="1234.50")
    await org.create(client, name="Huge", amount="250000.00")
    await _sign_in(client, org.sales)

    page = await client.get("/deals", params={"amount_min": "1.234,50", "sort": "name"})
    assert page.status_code == 200
    assert _deals(page.text) == ["Big", "Huge"]
    assert 'name="amount_min" type="text" inputmode="decimal"' in page.text
    assert 'placeholder="1.250,50" value="1.234,50"' in page.text
    # Links (headings, saved views, exports) carry the plain decimal.
    assert 'href="/deals?amount_min=1234.5&amp;sort=-name"' in page.text
    assert "/exports/deals?format=csv&amp;amount_min=1234.5" in page.text
    # Filtering by the form redraws the results and the address bar reads plainly.
    redrawn = await client.get(
        "/deals", params={"amount_min": "1.000", "amount_max": "1234,5"}, headers=HTMX
    )
    assert _deals(redrawn.text) == ["Small", "Big"]
    assert redrawn.headers["HX-Push-Url"] == "/deals?amount_max=1234.5&amount_min=1000"
    # A plain decimal from an old link reads as it did.
    linked = await client.get("/deals", params={"amount_max": "1234.5"})
    assert _deals(linked.text) == ["Small", "Big"]
    assert 'value="1.234,50"' in linked.text

    # No amount: named, with how to type one; the other bound still filters.
    wrong = await client.get("/deals", params={"amount_min": "12,3,4", "amount_max": "2.000"})
    assert wrong.status_code == 200
    assert sorted(_deals(wrong.text)) == ["Big", "Small"]
    assert "Amount from: “12,3,4” is left out — type an amount such as 1.250,50." in html.unescape(
        wrong.text
    )
    assert 'value="12,3,4" aria-invalid="true" aria-describedby="amount_min-error"' in wrong.text
    assert "could not be read" not in wrong.text
    negative = await client.get("/deals", params={"amount_min": "-5"}, headers=HTMX)
    assert "Amount from: “-5,00” is left out — an amount is 0 or more." in html.unescape(
        negative.text
    )
    below = await client.get(
        "/deals", params={"amount_min": "2.000", "amount_max": "1.000"}, headers=HTMX
    )
    assert "Amount to: “1.000,00” is left out — it is below Amount from." in html.unescape(
        below.text
    )
    assert _deals(below.text) == ["Huge"]
    # The address bar keeps what was refused, as sent: a reload names it again.
    assert below.headers["HX-Push-Url"] == "/deals?amount_max=1000&amount_min=2000"
    typed = await client.get("/deals", params={"amount_max": "zwölf"}, headers=HTMX)
    assert typed.headers["HX-Push-Url"] == "/deals?amount_max=zw%C3%B6lf"
    reloaded = await client.get(typed.headers["HX-Push-Url"])
    assert "Amount to: “zwölf” is left out — type an amount such as 1.250,50." in html.unescape(
        reloaded.text
    )
    assert 'value="zwölf" aria-invalid="true"' in html.unescape(reloaded.text)
    # Headings keep it too; the export (which would refuse it) does not carry it.
    assert 'href="/deals?amount_max=zw%C3%B6lf&amp;sort=name"' in reloaded.text
    assert "/exports/deals?format=csv&amp;amount_max" not in reloaded.text
    assert 'href="/deals">Clear</a>' in reloaded.text


async def test_closes_in_offers_months_by_name_in_the_organizations_locale(
    client: httpx.AsyncClient, org: Org
) -> None:
    settings = await client.get("/api/v1/settings", headers=org.admin.headers)
    localized = await client.patch(
        "/api/v1/settings",
        headers=org.admin.headers,
        json={"locale": "de-DE", "version": settings.json()["version"]},
    )
    assert localized.status_code == 200, localized.text
    # Two and three months from now (the sales member reads UTC, the default).
    today = datetime.now(UTC).date()
    soon, later = (_month_after(today, 2), _month_after(today, 3))
    await org.create(client, name="Soon", amount="10.00", expected_close_date=f"{soon}-15")
    await org.create(client, name="Later", amount="10.00", expected_close_date=f"{later}-01")
    await _sign_in(client, org.sales)
    page = await client.get("/deals", params={"close_month": soon})
    assert page.status_code == 200
    assert _deals(page.text) == ["Soon"]
    form = page.text.split('name="close_month"', 1)[1].split("</select>", 1)[0]
    # A choice of months by name, not a month input (drawn as dashes by Chromium).
    assert 'type="month"' not in page.text
    assert '<option value="">Any month</option>' in form
    assert f'<option value="{soon}" selected>{_german(soon)}</option>' in form
    assert f'<option value="{later}">{_german(later)}</option>' in form
    months = re.findall(r'<option value="(\d{4}-\d{2})"', form)
    # A year back and two ahead of this month, oldest first.
    assert months[0] == _month_after(today, -12)
    assert months[-1] == _month_after(today, 24)
    assert months == sorted(months)
    assert len(months) == 37
    # A month of an old link outside the offered range is offered, and chosen.
    old = await client.get("/deals", params={"close_month": "2019-07"})
    form = old.text.split('name="close_month"', 1)[1].split("</select>", 1)[0]
    assert '<option value="2019-07" selected>Juli 2019</option>' in form
    assert _deals(old.text) == []


GERMAN_MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


def _month_after(day: date, months: int) -> str:
    index = day.year * 12 + day.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _german(month: str) -> str:
    return f"{GERMAN_MONTHS[int(month[5:]) - 1]} {month[:4]}"
