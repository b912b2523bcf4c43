"""The search box's suggestions and the results page over HTTP: the same rules as
the API (another organization never, leads by role), plain answers for short,
punctuation-only and over-long queries, and the box in every page's header."""

from __future__ import annotations

import httpx

from tests.factories import unique
from tests.leads.conftest import make_org
from tests.web.test_workflow_pages import HTMX, _sign_in


async def test_suggestions_and_results_keep_to_the_callers_records(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client)
    other = await make_org(client)
    word = unique("Wombat").replace("-", "")
    for member, name in ((org.admin, f"{word} Handel"), (other.admin, f"{word} Fremd")):
        created = await client.post("/api/v1/accounts", headers=member.headers, json={"name": name})
        assert created.status_code == 201, created.text
    inbox = await org.create(client, company_name=f"{word} Leadco")

    await _sign_in(client, org.sales)
    home = await client.get("/")
    assert 'id="site-search-q"' in home.text
    assert 'hx-get="/search/suggest"' in home.text
    box = await client.get("/search/suggest", params={"q": word}, headers=HTMX)
    assert box.status_code == 200
    assert 'role="listbox"' in box.text
    assert f"{word} Handel" in box.text
    assert f"{word} Fremd" not in box.text
    # Sales never sees marketing's inbox.
    assert f"{word} Leadco" not in box.text
    assert ">Accounts</p>" in box.text
    assert f'href="/search?q={word}"' in box.text

    await _sign_in(client, org.marketing)
    box = await client.get("/search/suggest", params={"q": word}, headers=HTMX)
    assert f'href="/leads/{inbox["id"]}"' in box.text
    page = await client.get("/search", params={"q": word})
    assert page.status_code == 200
    assert f"{word} Handel" in page.text
    assert f"{word} Leadco" in page.text
    assert f"{word} Fremd" not in page.text


async def test_short_empty_and_odd_queries_get_plain_answers(client: httpx.AsyncClient) -> None:
    org = await make_org(client)
    await _sign_in(client, org.admin)
    for q in ("", "a", "!!"):
        box = await client.get("/search/suggest", params={"q": q}, headers=HTMX)
        assert box.status_code == 200
        assert box.text.strip() == ""
    missing = await client.get("/search/suggest", params={"q": "zyxwvutsr"}, headers=HTMX)
    assert "Nothing found for “zyxwvutsr”" in missing.text
    empty = await client.get("/search")
    assert empty.status_code == 200
    assert "Nothing found" not in empty.text
    odd = await client.get("/search", params={"q": "!!!"})
    assert "has no letters or digits" in odd.text
    long = await client.get("/search", params={"q": "x" * 300})
    assert long.status_code == 200
    assert "Only the first 200 characters were searched." in long.text
    nul = await client.get("/search", params={"q": "acme\x00"})
    assert nul.status_code == 200
