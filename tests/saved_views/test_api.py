"""Saved views (`/api/v1/views`): private and shared visibility, owner-only changes,
query validation against the list's filters, versions, tenancy, and links that keep
filtering after the view is gone."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.deals.conftest import Org, insert_account
from tests.factories import Member, add_member, register_tenant
from tests.web.test_workflow_pages import _sign_in


async def _save(client: httpx.AsyncClient, member: Member, **body: Any) -> httpx.Response:
    payload = {"list": "deals", "name": "Big proposals", "query": {"stage": "proposal"}, **body}
    return await client.post("/api/v1/views", headers=member.headers, json=payload)


async def _saved(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    response = await _save(client, member, **body)
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    return view


async def _names(client: httpx.AsyncClient, member: Member, **params: str) -> list[str]:
    response = await client.get("/api/v1/views", headers=member.headers, params=params)
    assert response.status_code == 200, response.text
    return [view["name"] for view in response.json()]


async def test_a_view_answers_its_query_and_its_link(client: httpx.AsyncClient, org: Org) -> None:
    view = await _saved(
        client, org.sales, query={"stage": "proposal", "sort": "-amount", "amount_min": "100"}
    )
    assert view["list"] == "deals"
    assert view["shared"] is False
    assert view["owner_id"] == str(org.sales.user_id)
    assert view["query"] == {"stage": "proposal", "sort": "-amount", "amount_min": "100"}
    assert view["url"] == "/deals?amount_min=100&sort=-amount&stage=proposal"
    assert view["version"] == 1


async def test_a_private_view_is_invisible_to_another_member_and_a_shared_one_visible(
    client: httpx.AsyncClient, org: Org
) -> None:
    other = await add_member(client, org.admin, "sales")
    private = await _saved(client, org.sales, name="Mine only")
    await _saved(client, org.sales, name="For the team", shared=True)
    assert await _names(client, org.sales) == ["For the team", "Mine only"]
    assert await _names(client, other) == ["For the team"]
    assert await _names(client, org.admin) == ["For the team"]
    # The private one does not exist for them: 404 on change and delete.
    patched = await client.patch(
        f"/api/v1/views/{private['id']}",
        headers=other.headers,
        json={"name": "Taken", "version": 1},
    )
    assert patched.status_code == 404, patched.text
    deleted = await client.delete(
        f"/api/v1/views/{private['id']}", headers=other.headers, params={"version": 1}
    )
    assert deleted.status_code == 404, deleted.text


async def test_only_the_owner_changes_a_shared_view(client: httpx.AsyncClient, org: Org) -> None:
    shared = await _saved(client, org.sales, shared=True)
    response = await client.patch(
        f"/api/v1/views/{shared['id']}", headers=org.admin.headers, json={"version": 1, "name": "X"}
    )
    assert response.status_code == 403, response.text
    response = await client.delete(
        f"/api/v1/views/{shared['id']}", headers=org.admin.headers, params={"version": 1}
    )
    assert response.status_code == 403, response.text


async def test_another_organizations_view_is_404(client: httpx.AsyncClient, org: Org) -> None:
    shared = await _saved(client, org.sales, shared=True)
    stranger = await register_tenant(client)
    assert await _names(client, stranger) == []
    for response in (
        await client.patch(
            f"/api/v1/views/{shared['id']}",
            headers=stranger.headers,
            json={"name": "Mine now", "version": 1},
        ),
        await client.delete(
            f"/api/v1/views/{shared['id']}", headers=stranger.headers, params={"version": 1}
        ),
    ):
        assert response.status_code == 404, response.text
    assert await _names(client, org.sales) == ["Big proposals"]


async def test_a_stale_version_is_409_and_a_missing_one_422(
    client: httpx.AsyncClient, org: Org
) -> None:
    view = await _saved(client, org.sales)
    url = f"/api/v1/views/{view['id']}"
    renamed = await client.patch(
        url, headers=org.sales.headers, json={"name": "Renamed", "shared": True, "version": 1}
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["shared"], renamed.json()["version"]) == (
        "Renamed",
        True,
        2,
    )
    stale = await client.patch(url, headers=org.sales.headers, json={"name": "Late", "version": 1})
    assert stale.status_code == 409, stale.text
    stale_delete = await client.delete(url, headers=org.sales.headers, params={"version": 1})
    assert stale_delete.status_code == 409, stale_delete.text
    missing = await client.patch(url, headers=org.sales.headers, json={"name": "No version"})
    assert missing.status_code == 422, missing.text
    by_header = await client.patch(
        url, headers={**org.sales.headers, "If-Match": "2"}, json={"query": {"sort": "name"}}
    )
    assert by_header.status_code == 200, by_header.text
    assert by_header.json()["query"] == {"sort": "name"}
    gone = await client.delete(url, headers=org.sales.headers, params={"version": 3})
    assert gone.status_code == 204, gone.text
    assert await _names(client, org.sales) == []


async def test_a_name_is_unique_per_owner_and_list(client: httpx.AsyncClient, org: Org) -> None:
    await _saved(client, org.sales)
    again = await _save(client, org.sales)
    assert again.status_code == 409, again.text
    # Another list, or another member, may use the name.
    await _saved(client, org.sales, list="accounts", query={"tenure": "prospect"})
    await _saved(client, org.admin)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": {"colour": "red"}}, "query.colour"),
        ({"query": {"sort": "bogus"}}, "query.sort"),
        ({"query": {"amount_min": "-5"}}, "query.amount_min"),
        ({"query": {"amount_min": "10", "amount_max": "5"}}, "query.amount_max"),
        ({"query": {"close_month": "2026-00"}}, "query.close_month"),
        ({"query": {"overdue": "often"}}, "query.overdue"),
        ({"query": {"stage": 3}}, "query.stage"),
        ({"list": "accounts", "query": {"stage": "proposal"}}, "query.stage"),
        ({"list": "accounts", "query": {"tenure": "forever"}}, "query.tenure"),
        ({"list": "planets"}, "list"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
    ],
)
async def test_a_query_the_list_cannot_take_is_422_naming_the_parameter(
    client: httpx.AsyncClient, org: Org, body: dict[str, Any], field: str
) -> None:
    response = await _save(client, org.sales, **body)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]], response.text


async def test_a_deleted_views_link_still_filters(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    other_account = await insert_account(owner_conn, org.admin, "Other Co")
    await org.create(client, name="Kept", amount="5000.00")
    await org.create(client, name="Small", amount="5.00")
    await org.create(client, name="Elsewhere", amount="9000.00", account_id=str(other_account))
    view = await _saved(
        client,
        org.sales,
        name="Big ones here",
        query={"amount_min": "1000", "account_id": str(org.account_id)},
    )
    deleted = await client.delete(
        f"/api/v1/views/{view['id']}", headers=org.sales.headers, params={"version": 1}
    )
    assert deleted.status_code == 204, deleted.text
    # The link is the list page with the filters; the API takes the same parameters.
    path, _, query = view["url"].partition("?")
    assert path == "/deals"
    api = await client.get(f"/api/v1/deals?{query}", headers=org.sales.headers)
    assert api.status_code == 200, api.text
    assert [item["name"] for item in api.json()["items"]] == ["Kept"]
    await _sign_in(client, org.sales)
    page = await client.get(view["url"])
    assert page.status_code == 200, page.text
    assert 'data-deal="Kept"' in page.text
    assert 'data-deal="Small"' not in page.text
    assert 'data-deal="Elsewhere"' not in page.text


async def test_a_viewer_keeps_views_of_the_lists_they_read(
    client: httpx.AsyncClient, org: Org
) -> None:
    viewer = await add_member(client, org.admin, "viewer")
    view = await _saved(client, viewer, name="What I watch", query={"view": "pipeline"})
    assert view["owner_id"] == str(viewer.user_id)
    assert await _names(client, viewer, list="deals") == ["What I watch"]
    assert await _names(client, viewer, list="accounts") == []
    assert await _names(client, org.sales) == []
