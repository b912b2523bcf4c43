"""Saved views on the targets list and on each lead queue: a view is a tab of its own
list only, its link filters (also once the view is deleted), a private view is not
another member's tab and a shared one is, and the search box's address carries the
search so the list as shown can be saved."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.deals.conftest import Org
from tests.factories import Member, add_member
from tests.web.test_workflow_pages import HTMX, _sign_in


async def _view(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/views", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    return view


def _targets(page: str) -> list[str]:
    return [
        html.unescape(name)
        for name in re.findall(r'<tr id="target-[^"]*" data-target="([^"]*)"', page)
    ]


async def test_a_targets_view_is_a_tab_whose_link_filters(
    client: httpx.AsyncClient, org: Org
) -> None:
    for company in ("Harbour Rope Ltd", "Inland Twine"):
        created = await client.post(
            "/api/v1/targets", headers=org.sales.headers, json={"company_name": company}
        )
        assert created.status_code == 201, created.text
    other = await add_member(client, org.admin, "sales")
    mine = await _view(client, org.sales, list="targets", name="Harbour", query={"q": "harbour"})
    assert mine["url"] == "/targets?q=harbour"
    await _view(client, org.sales, list="targets", name="New ones", query={"status": "new"})
    await _view(client, org.sales, list="deals", name="Not here", query={"stage": "proposal"})
    await _view(client, other, list="targets", name="Team pick", query={"q": "twine"}, shared=True)
    await _view(client, other, list="targets", name="Their own", query={"q": "rope"})

    await _sign_in(client, org.sales)
    page = await client.get("/targets")
    tabs = re.findall(r'data-view-tab="([^"]*)"', page.text)
    assert tabs == ["All", "Harbour", "New ones", "Team pick"]
    tab = await client.get(mine["url"])
    assert 'data-view-tab="Harbour" aria-current="page"' in tab.text
    assert _targets(tab.text) == ["Harbour Rope Ltd"]
    # The search box redraws the list and puts the search in the address.
    searched = await client.get("/targets?status=&q=twine", headers=HTMX)
    assert searched.headers["HX-Push-Url"] == "/targets?q=twine"
    assert 'data-view-tab="Team pick" aria-current="page"' in searched.text
    assert _targets(searched.text) == ["Inland Twine"]
    assert "Delete view" not in searched.text  # another member's shared view

    deleted = await client.delete(
        f"/api/v1/views/{mine['id']}", headers=org.sales.headers, params={"version": 1}
    )
    assert deleted.status_code == 204
    still = await client.get(mine["url"])
    assert 'data-view-tab="Harbour"' not in still.text
    assert _targets(still.text) == ["Harbour Rope Ltd"]


async def test_each_lead_queue_has_its_own_views(client: httpx.AsyncClient, org: Org) -> None:
    marketing = await add_member(client, org.admin, "marketing")
    for company in ("Quayside Fish", "Upland Dairy"):
        created = await client.post(
            "/api/v1/leads", headers=marketing.headers, json={"company_name": company}
        )
        assert created.status_code == 201, created.text
    view = await _view(client, marketing, list="leads_inbox", name="Fish", query={"q": "quayside"})
    assert view["url"] == "/leads/inbox?q=quayside"
    await _view(client, marketing, list="leads_nurture", name="Cold", query={"q": "dairy"})
    refused = await client.post(
        "/api/v1/views",
        headers=marketing.headers,
        json={"list": "leads_inbox", "name": "Odd", "query": {"stage": "new"}},
    )
    assert refused.status_code == 422
    assert "query.stage" in refused.text

    await _sign_in(client, marketing)
    inbox = await client.get("/leads/inbox")
    assert re.findall(r'data-view-tab="([^"]*)"', inbox.text) == ["All", "Fish"]
    tab = await client.get(view["url"])
    assert 'data-view-tab="Fish" aria-current="page"' in tab.text
    assert "Quayside Fish" in tab.text
    assert "Upland Dairy" not in tab.text
    searched = await client.get("/leads/inbox?part=list&q=upland", headers=HTMX)
    assert searched.headers["HX-Push-Url"] == "/leads/inbox?q=upland"
    assert "Upland Dairy" in searched.text
    assert 'name="query" value="q=upland"' in searched.text
    nurture = await client.get("/leads/nurture")
    assert re.findall(r'data-view-tab="([^"]*)"', nurture.text) == ["All", "Cold"]
    # The sales member sees none of marketing's private views.
    await _sign_in(client, org.sales)
    pool = await client.get("/leads/pool")
    assert re.findall(r'data-view-tab="([^"]*)"', pool.text) == ["All"]
