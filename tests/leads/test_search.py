"""Lead search (issue 14, defect 5): `q` on every queue of `GET /leads` and on the lead
pages — words anywhere in company, contact, email and phone, best matches first, paged
by (rank, id), within the queue and the role's rules."""

from __future__ import annotations

import re
from typing import Any

import httpx

from baton.db.engine import Database
from tests.factories import Member, register_tenant
from tests.identity.test_statement_counts import counted
from tests.leads.conftest import Org
from tests.web.test_workflow_pages import HTMX, _sign_in


async def _ids(client: httpx.AsyncClient, member: Member, **params: Any) -> list[str]:
    response = await client.get("/api/v1/leads", headers=member.headers, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_the_inbox_finds_words_anywhere_best_first(
    client: httpx.AsyncClient, org: Org
) -> None:
    by_email = await org.create(client, company_name="Holzbau", email="jo@feinkost-hub.example")
    middle = await org.create(
        client, company_name="Nordhafen Feinkost GmbH", phone="+49 40 555 0199"
    )
    starts = await org.create(client, company_name="Feinkost Meyer", contact_name="Jörg Weiß")
    pooled = await org.pooled(client, company_name="Feinkost Pooled")

    inbox = {"view": "inbox"}
    assert await _ids(client, org.marketing, q="feinkost", **inbox) == [
        starts["id"],
        middle["id"],
        by_email["id"],
    ]
    assert await _ids(client, org.marketing, q="jorg weiss", **inbox) == [starts["id"]]
    assert await _ids(client, org.marketing, q="jörg weiß", **inbox) == [starts["id"]]
    assert await _ids(client, org.marketing, q="040 555-0199", **inbox) == [middle["id"]]
    assert await _ids(client, org.marketing, q="feinkost-hub", **inbox) == [by_email["id"]]
    # Each queue keeps to its own leads, and to the roles that work it.
    assert await _ids(client, org.sales, q="feinkost", view="pool") == [pooled["id"]]
    refused = await client.get(
        "/api/v1/leads", headers=org.sales.headers, params={"view": "inbox", "q": "feinkost"}
    )
    assert refused.status_code == 403
    other = await register_tenant(client)
    assert await _ids(client, other, q="feinkost", view="inbox") == []


async def test_pages_of_a_searched_queue_and_the_teams_list(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    expected = [(await org.create(client, company_name=f"Feinkost {n}"))["id"] for n in range(3)]
    expected.append((await org.create(client, company_name="Alte Feinkost"))["id"])
    seen: list[str] = []
    costs = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"view": "inbox", "q": "feinkost", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        with counted(database) as statements:
            page = (
                await client.get("/api/v1/leads", headers=org.marketing.headers, params=params)
            ).json()
        costs.append(len(statements))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert len(set(costs)) == 1, costs

    claimed = await org.pooled(client, company_name="Feinkost Claimed")
    assert (await org.action(client, claimed, "claim")).status_code == 200
    team = await client.get(
        "/api/v1/leads", headers=org.manager.headers, params={"view": "team", "q": "claimed"}
    )
    assert team.status_code == 200
    [row] = team.json()["items"]
    assert row["id"] == claimed["id"]
    assert row["sales_owner_name"]
    assert await _ids(client, org.sales, view="mine", q="feinkost") == [claimed["id"]]
    assert await _ids(client, org.other_sales, view="mine", q="feinkost") == []


async def test_the_lead_pages_search_and_load_more(client: httpx.AsyncClient, org: Org) -> None:
    for n in range(3):
        await org.create(client, company_name=f"Nordhafen Feinkost {n}")
    await org.create(client, company_name="Südhafen Logistik")
    await _sign_in(client, org.marketing)

    page = await client.get("/leads/inbox", params={"q": "feinkost"})
    assert page.status_code == 200
    assert 'role="search"' in page.text
    assert "Nordhafen Feinkost 2" in page.text
    assert "Südhafen" not in page.text
    redrawn = await client.get(
        "/leads/inbox", params={"q": "logistik", "part": "list"}, headers=HTMX
    )
    assert redrawn.text.lstrip().startswith('<section id="leads-list"')
    assert "Südhafen Logistik" in redrawn.text
    assert "Nordhafen" not in redrawn.text
    missing = await client.get(
        "/leads/inbox", params={"q": "nothing", "part": "list"}, headers=HTMX
    )
    assert "No lead here matches" in missing.text
    long = await client.get("/leads/inbox", params={"q": "feinkost " + "x" * 2000})
    assert long.status_code == 200


async def test_load_more_keeps_the_search(
    client: httpx.AsyncClient, org: Org, monkeypatch: Any
) -> None:
    from baton.leads import web as lead_pages

    monkeypatch.setattr(lead_pages, "PAGE_SIZE", 2)
    names = ["Feinkost A", "Feinkost B", "Nordhafen Feinkost"]
    for name in names:
        await org.create(client, company_name=name)
    await org.create(client, company_name="Other")
    await _sign_in(client, org.marketing)
    first = await client.get("/leads/inbox", params={"q": "feinkost"})
    more = re.search(r'hx-get="([^"]+)"[^>]*>Load more', first.text)
    assert more
    url = more.group(1).replace("&amp;", "&")
    assert "q=feinkost" in url
    rest = await client.get(url, headers=HTMX)
    assert "Nordhafen Feinkost" in rest.text
    assert "Other" not in rest.text
    assert "Load more" not in rest.text


async def test_a_queues_pages_are_its_one_big_page_cut(client: httpx.AsyncClient, org: Org) -> None:
    """A queue searched page by page (the page function within the queue and owner) is
    its single big page: other queues' and other owners' matches never fill a page."""
    for n in range(3):
        await org.create(client, company_name=f"Gmbh Inbox {n}")
        await org.pooled(client, company_name=f"Nordhafen Pool {n} GmbH")
        await org.pooled(client, company_name=f"Gmbh Pool start {n}")
    for n in range(2):
        mine = await org.pooled(client, company_name=f"Gmbh Claimed {n}")
        assert (await org.action(client, mine, "claim")).status_code == 200
        theirs = await org.pooled(client, company_name=f"Gmbh Theirs {n}")
        claimed = await org.action(client, theirs, "claim", member=org.other_sales)
        assert claimed.status_code == 200, claimed.text

    async def pages(member: Any, view: str, size: int) -> list[str]:
        seen: list[str] = []
        cursor = None
        for _ in range(30):
            params: dict[str, Any] = {"view": view, "q": "gmbh", "limit": size}
            if cursor:
                params["cursor"] = cursor
            response = await client.get("/api/v1/leads", headers=member.headers, params=params)
            assert response.status_code == 200, response.text
            seen += [item["company_name"] for item in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return seen
        raise AssertionError("the pages never ended")

    pool = await pages(org.sales, "pool", 200)
    assert pool == [f"Gmbh Pool start {n}" for n in range(3)] + [
        f"Nordhafen Pool {n} GmbH" for n in range(3)
    ]
    for size in (1, 2, 4):
        assert await pages(org.sales, "pool", size) == pool, size
        assert await pages(org.marketing, "inbox", size) == [f"Gmbh Inbox {n}" for n in range(3)]
        assert await pages(org.sales, "mine", size) == ["Gmbh Claimed 0", "Gmbh Claimed 1"]
        assert await pages(org.other_sales, "mine", size) == ["Gmbh Theirs 0", "Gmbh Theirs 1"]
