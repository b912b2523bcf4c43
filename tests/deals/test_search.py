"""The deals list searched (`GET /api/v1/deals?q=`, issue 14 defect 5): words anywhere
in the name, ranked as the accounts list ranks, paged by (rank, id), combined with the
other filters and a sort, one tenant only, a constant number of statements."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from baton.db.engine import Database
from tests.deals.conftest import NEXT_WEEK, Org
from tests.factories import add_member, register_tenant
from tests.identity.test_statement_counts import counted


async def _names(client: httpx.AsyncClient, org: Org, q: str, **params: Any) -> list[str]:
    response = await client.get(
        "/api/v1/deals", headers=org.sales.headers, params={"q": q, **params}
    )
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def _pages(client: httpx.AsyncClient, org: Org, size: int, **params: Any) -> list[str]:
    """Every name along the cursors, `size` a page."""
    seen: list[str] = []
    cursor = None
    for _ in range(60):
        query = {**params, "limit": size, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/deals", headers=org.sales.headers, params=query)
        assert response.status_code == 200, response.text
        seen += [item["name"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


async def test_words_anywhere_in_the_name_best_matches_first(
    client: httpx.AsyncClient, org: Org
) -> None:
    # Created in this order, so creation order alone would list them the other way.
    for name in (
        "Harbour Feinkost Renewal",
        "Nordhafen Feinkost GmbH rollout",
        "Feinkost Meyer pilot",
        "Südhafen Logistik",
    ):
        await org.create(client, name=name)

    assert await _names(client, org, "feinkost") == [
        "Feinkost Meyer pilot",  # the name starts with the word
        "Harbour Feinkost Renewal",  # a word of the name, by creation order
        "Nordhafen Feinkost GmbH rollout",
    ]
    assert await _names(client, org, "nordhafen fein") == ["Nordhafen Feinkost GmbH rollout"]
    assert await _names(client, org, "rollout gmbh") == ["Nordhafen Feinkost GmbH rollout"]
    assert await _names(client, org, "SUDHAFEN") == ["Südhafen Logistik"]
    assert await _names(client, org, "einkost") == []
    # Blank or punctuation alone matches nothing; an empty `q` is refused.
    assert await _names(client, org, " -- ") == []
    empty = await client.get("/api/v1/deals", headers=org.sales.headers, params={"q": ""})
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "q"


async def test_a_search_combines_with_the_other_filters_and_a_sort(
    client: httpx.AsyncClient, org: Org
) -> None:
    small = await org.create(client, name="Feinkost small", amount="100.00")
    await org.create(client, name="Feinkost big", amount="9000.00")
    await org.create(client, name="Harbour Feinkost", amount="5000.00")
    await org.create(client, name="Other big", amount="9000.00")
    closed = await org.close(client, small, outcome="lost", reason="price")
    assert closed.status_code == 200, closed.text

    assert await _names(client, org, "feinkost", amount_min="1000") == [
        "Feinkost big",
        "Harbour Feinkost",
    ]
    assert await _names(client, org, "feinkost", view="pipeline") == [
        "Feinkost big",
        "Harbour Feinkost",
    ]
    assert await _names(client, org, "feinkost", view="closed") == ["Feinkost small"]
    # A sort orders the matches by its column; its pages follow the sort.
    assert await _names(client, org, "feinkost", sort="-amount") == [
        "Feinkost big",
        "Harbour Feinkost",
        "Feinkost small",
    ]
    assert await _pages(client, org, 1, q="feinkost", sort="amount") == [
        "Feinkost small",
        "Harbour Feinkost",
        "Feinkost big",
    ]


@pytest.mark.parametrize("params", [{}, {"view": "pipeline"}])
async def test_pages_are_the_one_big_page_cut(
    client: httpx.AsyncClient, org: Org, params: dict[str, str]
) -> None:
    """Pages of every size, each after the previous cursor, are the single big page:
    no deal twice, none missing, in (rank, id) order — with and without another filter
    (the page function, and the ranked matches)."""
    for n in range(4):
        await org.create(client, name=f"Gmbh start {n}")
        await org.create(client, name=f"Nordhafen {n} GmbH")
        await org.create(client, name=f"Unrelated {n}")
    big = (
        await client.get(
            "/api/v1/deals",
            headers=org.sales.headers,
            params={"q": "gmbh", "limit": 200, **params},
        )
    ).json()
    assert big["next_cursor"] is None
    whole = [item["name"] for item in big["items"]]
    assert whole == [f"Gmbh start {n}" for n in range(4)] + [
        f"Nordhafen {n} GmbH" for n in range(4)
    ]
    for size in (1, 3, 5):
        assert await _pages(client, org, size, q="gmbh", **params) == whole, size


async def test_a_plain_cursor_is_refused_in_a_search(client: httpx.AsyncClient, org: Org) -> None:
    for n in range(3):
        await org.create(client, name=f"Feinkost {n}")
    plain = (
        await client.get("/api/v1/deals", headers=org.sales.headers, params={"limit": 1})
    ).json()
    refused = await client.get(
        "/api/v1/deals",
        headers=org.sales.headers,
        params={"q": "feinkost", "cursor": plain["next_cursor"]},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "cursor"
    # A search's cursor given to the plain list pages it by id.
    searched = (
        await client.get(
            "/api/v1/deals", headers=org.sales.headers, params={"q": "feinkost", "limit": 1}
        )
    ).json()
    onwards = await client.get(
        "/api/v1/deals", headers=org.sales.headers, params={"cursor": searched["next_cursor"]}
    )
    assert onwards.status_code == 200
    assert [item["name"] for item in onwards.json()["items"]] == ["Feinkost 1", "Feinkost 2"]


async def test_another_tenants_deals_are_never_found(client: httpx.AsyncClient, org: Org) -> None:
    own = await org.create(client, name="Nordhafen Feinkost")
    other = await register_tenant(client)
    account = await client.post(
        "/api/v1/accounts", headers=other.headers, json={"name": "Their account"}
    )
    assert account.status_code == 201, account.text
    theirs = await client.post(
        "/api/v1/deals",
        headers=other.headers,
        json={
            "name": "Nordhafen Feinkost theirs",
            "account_id": account.json()["id"],
            "next_step": "Call",
            "next_step_due_date": NEXT_WEEK,
        },
    )
    assert theirs.status_code == 201, theirs.text

    assert await _names(client, org, "feinkost") == [own["name"]]
    assert await _names(client, org, "theirs") == []
    assert await _names(client, org, "theirs", view="pipeline") == []


async def test_every_role_searches_what_it_lists(client: httpx.AsyncClient, org: Org) -> None:
    """Any member lists the organization's deals; a search is the same list narrowed."""
    mine = await org.create(client, name="Feinkost of sales")
    viewer = await add_member(client, org.admin, "viewer")
    marketing = await add_member(client, org.admin, "marketing")
    for member in (viewer, marketing, org.admin):
        response = await client.get(
            "/api/v1/deals", headers=member.headers, params={"q": "feinkost"}
        )
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [mine["id"]]
    anonymous = await client.get("/api/v1/deals", params={"q": "feinkost"})
    assert anonymous.status_code == 401


@pytest.mark.parametrize("params", [{}, {"view": "pipeline"}, {"sort": "name"}])
async def test_a_search_costs_the_same_statements_on_every_page(
    client: httpx.AsyncClient, org: Org, database: Database, params: dict[str, str]
) -> None:
    for n in range(5):
        await org.create(client, name=f"Nord Feinkost {n}")
    costs = []
    cursor = None
    for _ in range(3):
        query: dict[str, Any] = {"q": "feinkost", "limit": 2, **params}
        if cursor:
            query["cursor"] = cursor
        with counted(database) as statements:
            response = await client.get("/api/v1/deals", headers=org.sales.headers, params=query)
        assert response.status_code == 200, response.text
        costs.append(len(statements))
        cursor = response.json()["next_cursor"]
    assert cursor is None
    assert costs == [2, 2, 2]  # authenticate, the page


async def test_the_bulk_filter_and_the_export_carry_the_search(
    client: httpx.AsyncClient, org: Org
) -> None:
    wanted = await org.create(client, name="Feinkost renewal")
    await org.create(client, name="Other renewal")
    moved = await client.post(
        "/api/v1/deals/bulk",
        headers=org.admin.headers,
        json={
            "action": "change_owner",
            "owner_id": str(org.admin.user_id),
            "filter": {"q": "feinkost"},
        },
    )
    assert moved.status_code == 200, moved.text
    after = await org.get(client, wanted)
    assert after["owner_id"] == str(org.admin.user_id)
    others = await client.get(
        "/api/v1/deals", headers=org.sales.headers, params={"owner_id": str(org.admin.user_id)}
    )
    assert [item["name"] for item in others.json()["items"]] == ["Feinkost renewal"]

    exported = await client.get(
        "/api/v1/exports/deals", headers=org.sales.headers, params={"q": "feinkost"}
    )
    assert exported.status_code == 200, exported.text
    assert "Feinkost renewal" in exported.text
    assert "Other renewal" not in exported.text
