"""The work items list searched (`GET /api/v1/work-items?q=`, issue 14 defect 5): words
anywhere in the name, ranked, paged by (rank, id), with the project type and step
filters, one tenant only, a constant number of statements."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db.engine import Database
from tests.factories import Member, add_member, register_tenant
from tests.identity.test_statement_counts import counted

PATH = "/api/v1/work-items"


async def _ticket_type(owner_conn: asyncpg.Connection, admin: Member) -> uuid.UUID:
    project_type = await owner_conn.fetchval(
        "SELECT id FROM project_types WHERE tenant_id = $1 AND name = 'Support Ticket'",
        admin.tenant_id,
    )
    assert project_type is not None
    return project_type  # type: ignore[no-any-return]


async def _create(
    client: httpx.AsyncClient, member: Member, project_type: uuid.UUID, name: str
) -> dict[str, Any]:
    created = await client.post(
        PATH, headers=member.headers, json={"project_type_id": str(project_type), "name": name}
    )
    assert created.status_code == 201, created.text
    item: dict[str, Any] = created.json()
    return item


async def _names(client: httpx.AsyncClient, member: Member, q: str, **params: Any) -> list[str]:
    response = await client.get(PATH, headers=member.headers, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def _pages(client: httpx.AsyncClient, member: Member, size: int, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(60):
        query = {**params, "limit": size, **({"cursor": cursor} if cursor else {})}
        response = await client.get(PATH, headers=member.headers, params=query)
        assert response.status_code == 200, response.text
        seen += [item["name"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Member:
    return await register_tenant(client)


async def test_words_anywhere_best_matches_first_and_filters(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, admin: Member
) -> None:
    tickets = await _ticket_type(owner_conn, admin)
    for name in (
        "Office printer on fire",
        "Printer toner empty",
        "Coffee machine",
        "Drucker Müller",
    ):
        await _create(client, admin, tickets, name)

    assert await _names(client, admin, "printer") == [
        "Printer toner empty",  # the name starts with the word
        "Office printer on fire",
    ]
    assert await _names(client, admin, "fire office") == ["Office printer on fire"]
    assert await _names(client, admin, "muller") == ["Drucker Müller"]
    assert await _names(client, admin, "rinter") == []
    assert await _names(client, admin, "%%") == []
    assert await _names(client, admin, "printer", project_type_id=str(tickets)) == [
        "Printer toner empty",
        "Office printer on fire",
    ]
    assert await _names(client, admin, "printer", project_type_id=str(uuid.uuid4())) == []
    empty = await client.get(PATH, headers=admin.headers, params={"q": ""})
    assert empty.status_code == 422


@pytest.mark.parametrize("filtered", [False, True])
async def test_pages_are_the_one_big_page_cut(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, admin: Member, filtered: bool
) -> None:
    tickets = await _ticket_type(owner_conn, admin)
    for n in range(4):
        await _create(client, admin, tickets, f"Printer {n}")
        await _create(client, admin, tickets, f"Office {n} printer")
        await _create(client, admin, tickets, f"Unrelated {n}")
    params: dict[str, Any] = {"q": "printer"}
    if filtered:
        params["project_type_id"] = str(tickets)
    whole = await _pages(client, admin, 200, **params)
    assert whole == [f"Printer {n}" for n in range(4)] + [f"Office {n} printer" for n in range(4)]
    for size in (1, 3, 5):
        assert await _pages(client, admin, size, **params) == whole, size


async def test_a_plain_cursor_is_refused_and_other_tenants_never_found(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, admin: Member
) -> None:
    tickets = await _ticket_type(owner_conn, admin)
    for n in range(3):
        await _create(client, admin, tickets, f"Printer {n}")
    other = await register_tenant(client)
    await _create(client, other, await _ticket_type(owner_conn, other), "Printer theirs")

    assert await _names(client, admin, "printer") == [f"Printer {n}" for n in range(3)]
    assert await _names(client, admin, "theirs") == []
    plain = (await client.get(PATH, headers=admin.headers, params={"limit": 1})).json()
    refused = await client.get(
        PATH, headers=admin.headers, params={"q": "printer", "cursor": plain["next_cursor"]}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "cursor"
    # Every role reads the list; a viewer searches it too.
    viewer = await add_member(client, admin, "viewer")
    assert await _names(client, viewer, "printer 1") == ["Printer 1"]
    assert (await client.get(PATH, params={"q": "printer"})).status_code == 401


@pytest.mark.parametrize("filtered", [False, True])
async def test_a_search_costs_the_same_statements_on_every_page(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    admin: Member,
    database: Database,
    filtered: bool,
) -> None:
    tickets = await _ticket_type(owner_conn, admin)
    for n in range(5):
        await _create(client, admin, tickets, f"Printer {n}")
    costs = []
    cursor = None
    for _ in range(3):
        query: dict[str, Any] = {"q": "printer", "limit": 2}
        if filtered:
            query["project_type_id"] = str(tickets)
        if cursor:
            query["cursor"] = cursor
        with counted(database) as statements:
            response = await client.get(PATH, headers=admin.headers, params=query)
        assert response.status_code == 200, response.text
        costs.append(len(statements))
        cursor = response.json()["next_cursor"]
    assert cursor is None
    # Authenticate, the page, the steps its items are on.
    assert costs == [3, 3, 3]
