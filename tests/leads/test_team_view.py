"""`GET /leads?view=team` and `view=converted`: what managers oversee (defect 8 of
issue 14).

The team view is every salesperson's claimed, unconverted leads, by owner name (then
owner, then claim order), with `sales_owner_name`; admins, managers and viewers read
it, sales and marketing get 403, and another organization's leads never show.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from baton.db.engine import Database
from baton.leads.queries import TeamCursor
from tests.factories import Member, add_member, register_tenant
from tests.identity.test_statement_counts import counted
from tests.leads.conftest import Org

URL = "/api/v1/leads"


async def _claimed(client: httpx.AsyncClient, org: Org, member: Member) -> dict[str, Any]:
    """A pooled lead claimed by `member`: the lead as the claim answers it."""
    lead = await org.pooled(client)
    response = await org.action(client, lead, "claim", member=member)
    assert response.status_code == 200, response.text
    claimed: dict[str, Any] = response.json()["lead"]
    return claimed


async def _listed(
    client: httpx.AsyncClient, member: Member, view: str, **params: Any
) -> httpx.Response:
    return await client.get(URL, params={"view": view, **params}, headers=member.headers)


async def test_managers_see_every_owners_claimed_leads_by_owner_name(
    client: httpx.AsyncClient, org: Org
) -> None:
    by_sales = [await _claimed(client, org, org.sales) for _ in range(2)]
    by_other = await _claimed(client, org, org.other_sales)
    by_manager = await _claimed(client, org, org.manager)
    converted = await _claimed(client, org, org.sales)
    done = await org.action(client, converted, "convert")
    assert done.status_code == 200, done.text
    await org.pooled(client)  # unclaimed: not the team's yet

    names = {org.sales.user_id: "Sales Person", org.other_sales.user_id: "Sales Person"}
    names[org.manager.user_id] = "Manager Person"
    claimed = [*by_sales, by_other, by_manager]
    expected = sorted(
        claimed,
        key=lambda lead: (
            names[uuid.UUID(lead["sales_owner_id"])],
            uuid.UUID(lead["sales_owner_id"]),
            uuid.UUID(lead["id"]),
        ),
    )
    for member in (org.manager, org.admin, org.viewer):
        response = await _listed(client, member, "team")
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [item["id"] for item in items] == [lead["id"] for lead in expected]
        assert {item["view"] for item in items} == {"mine"}
        assert [item["sales_owner_name"] for item in items] == [
            names[uuid.UUID(lead["sales_owner_id"])] for lead in expected
        ]
        assert all(item["deal_id"] for item in items)

    # Pages follow the same order: owner name, owner, claim order.
    first = await _listed(client, org.manager, "team", limit=3)
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await _listed(client, org.manager, "team", limit=3, cursor=cursor)
    assert second.json()["next_cursor"] is None
    paged = first.json()["items"] + second.json()["items"]
    assert [item["id"] for item in paged] == [lead["id"] for lead in expected]

    # The queue views still carry no owner name.
    mine = await _listed(client, org.sales, "mine")
    assert [item["sales_owner_name"] for item in mine.json()["items"]] == [None, None]

    # The converted archive: managers see it; the claimer's name is not part of it.
    archive = await _listed(client, org.manager, "converted")
    assert archive.status_code == 200
    assert [item["id"] for item in archive.json()["items"]] == [converted["id"]]


@pytest.mark.parametrize("view", ["team", "converted"])
async def test_sales_and_marketing_may_not_list_them(
    client: httpx.AsyncClient, org: Org, view: str
) -> None:
    await _claimed(client, org, org.sales)
    for member in (org.sales, org.marketing):
        response = await _listed(client, member, view)
        assert response.status_code == 403, (member.role, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_another_organization_sees_none_of_them(client: httpx.AsyncClient, org: Org) -> None:
    await _claimed(client, org, org.sales)
    stranger = await register_tenant(client)
    stranger_manager = await add_member(client, stranger, "manager")
    for member in (stranger, stranger_manager):
        response = await _listed(client, member, "team")
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_cursor": None}
    # A cursor naming the other organization's owner and lead finds nothing either.
    mine = (await _listed(client, org.manager, "team")).json()["items"][0]
    forged = TeamCursor(uuid.UUID(mine["sales_owner_id"]), uuid.UUID(mine["id"])).encode()
    response = await _listed(client, stranger, "team", cursor=forged)
    assert response.json()["items"] == []


async def test_a_malformed_team_cursor_is_422(client: httpx.AsyncClient, org: Org) -> None:
    for cursor in ("nodot", "a.b", "x" * 64):
        response = await _listed(client, org.manager, "team", cursor=cursor)
        assert response.status_code == 422, (cursor, response.text)


async def test_the_team_list_does_not_grow_with_the_page(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    await _claimed(client, org, org.sales)
    with counted(database) as statements:
        response = await _listed(client, org.manager, "team")
    assert len(response.json()["items"]) == 1
    small = len(statements)
    for member in (org.sales, org.other_sales, org.manager, org.sales, org.other_sales):
        await _claimed(client, org, member)
    with counted(database) as statements:
        response = await _listed(client, org.manager, "team")
    assert len(response.json()["items"]) == 6
    assert len(statements) == small, statements
    # Authenticate (the role check reads nothing more), then one statement.
    assert small == 2
