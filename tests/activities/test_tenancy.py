"""Another organization's ids in the activities API (DESIGN §6, §8): a record another
organization holds is as unknown as a made-up id — 404, the same answer word for
word — and nothing is written in either organization.

Records (account, contact, deal) named in a create are 404 like deals' and contacts'
references; a deleted record of the organization itself stays 422 (as in deals,
tests/activities/test_create.py). Members are not records: an `owner_id` who is no
writer member of this organization is 422 whoever it names (as every owner field).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.activities.records import API, Org, account, contact, deal, org, plan
from tests.factories import Member, register_tenant

DUE = (datetime.now(UTC) + timedelta(days=3)).isoformat()


@dataclass(frozen=True)
class World:
    """Our organization (an activity on an open deal) and a stranger's records."""

    team: Org
    account: uuid.UUID
    contact: uuid.UUID
    deal: uuid.UUID
    activity: dict[str, Any]
    stranger: Member
    foreign_account: uuid.UUID
    foreign_contact: uuid.UUID
    foreign_deal: uuid.UUID


@pytest.fixture
async def world(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> World:
    team = await org(client)
    acme = await account(owner_conn, team.admin)
    bob = await contact(owner_conn, team.admin, acme)
    big = await deal(owner_conn, team.admin, acme)
    activity = await plan(client, team.sales, deal_id=str(big), contact_id=str(bob))
    stranger = await register_tenant(client)
    initech = await account(owner_conn, stranger, "Initech")
    return World(
        team=team,
        account=acme,
        contact=bob,
        deal=big,
        activity=activity,
        stranger=stranger,
        foreign_account=initech,
        foreign_contact=await contact(owner_conn, stranger, initech),
        foreign_deal=await deal(owner_conn, stranger, initech),
    )


async def _state(conn: asyncpg.Connection, *tenants: uuid.UUID) -> dict[str, Any]:
    """Every row the activities API could write, whole, in each organization."""
    state: dict[str, Any] = {}
    for tenant_id in tenants:
        for table in ("activities", "deals", "accounts", "contacts"):
            state[f"{tenant_id}.{table}"] = await conn.fetchval(
                f"SELECT array_agg(to_jsonb(t)::text ORDER BY t.id) FROM {table} t"
                " WHERE t.tenant_id = $1",
                tenant_id,
            )
    return state


def _problem(response: httpx.Response) -> dict[str, Any]:
    """The problem answer less what names the request itself."""
    body: dict[str, Any] = response.json()
    return {key: value for key, value in body.items() if key != "instance"}


def _not_found(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("/not-found")
    assert [error["field"] for error in response.json()["errors"]] == [field]
    return _problem(response)


def _invalid(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    return _problem(response)


async def test_a_create_naming_another_organizations_record_is_404(
    client: httpx.AsyncClient, world: World, owner_conn: asyncpg.Connection
) -> None:
    tenants = (world.team.admin.tenant_id, world.stranger.tenant_id)
    before = await _state(owner_conn, *tenants)

    async def create(member: Member, **links: str) -> httpx.Response:
        return await client.post(
            API,
            headers=member.headers,
            json={"type": "task", "subject": "Nope", "due_at": DUE, **links},
        )

    for field, foreign in (
        ("account_id", world.foreign_account),
        ("contact_id", world.foreign_contact),
        ("deal_id", world.foreign_deal),
    ):
        answer = _not_found(await create(world.team.sales, **{field: str(foreign)}), field)
        made_up = await create(world.team.sales, **{field: str(uuid.uuid4())})
        assert _not_found(made_up, field) == answer
    # Our records from the stranger's side: the same, both ways round.
    for field, ours in (
        ("account_id", world.account),
        ("contact_id", world.contact),
        ("deal_id", world.deal),
    ):
        answer = _not_found(await create(world.stranger, **{field: str(ours)}), field)
        assert _not_found(await create(world.stranger, **{field: str(uuid.uuid4())}), field) == (
            answer
        )
    # Alongside our own live records, the foreign one is still the answer: 404 naming it.
    mixed = await create(
        world.team.sales,
        account_id=str(world.account),
        contact_id=str(world.contact),
        deal_id=str(world.foreign_deal),
    )
    assert _not_found(mixed, "deal_id")
    mixed = await create(
        world.team.sales, deal_id=str(world.deal), account_id=str(world.foreign_account)
    )
    assert _not_found(mixed, "account_id")
    several = await create(
        world.team.sales,
        contact_id=str(world.foreign_contact),
        deal_id=str(world.foreign_deal),
    )
    assert several.status_code == 404, several.text
    assert [e["field"] for e in several.json()["errors"]] == ["deal_id", "contact_id"]
    assert await _state(owner_conn, *tenants) == before


async def test_an_edit_of_another_organizations_activity_is_404(
    client: httpx.AsyncClient, world: World, owner_conn: asyncpg.Connection
) -> None:
    tenants = (world.team.admin.tenant_id, world.stranger.tenant_id)
    before = await _state(owner_conn, *tenants)
    url = f"{API}/{world.activity['id']}"
    answer = _problem(
        await client.patch(
            url, headers=world.stranger.headers, json={"subject": "Nope", "version": 1}
        )
    )
    assert answer["status"] == 404
    made_up = await client.patch(
        f"{API}/{uuid.uuid4()}", headers=world.stranger.headers, json={"subject": "x", "version": 1}
    )
    assert made_up.status_code == 404, made_up.text
    # If-Match instead of the body's version: still 404, not a version answer.
    by_header = await client.patch(
        url, headers={**world.stranger.headers, "If-Match": '"1"'}, json={"subject": "Nope"}
    )
    assert by_header.status_code == 404, by_header.text
    assert await _state(owner_conn, *tenants) == before


async def test_an_owner_from_another_organization_is_no_member_here(
    client: httpx.AsyncClient, world: World, owner_conn: asyncpg.Connection
) -> None:
    """PATCH's only reference is `owner_id`: another organization's admin is answered
    exactly as a made-up id (422, like every owner field), and nothing changes."""
    tenants = (world.team.admin.tenant_id, world.stranger.tenant_id)
    before = await _state(owner_conn, *tenants)
    url = f"{API}/{world.activity['id']}"

    async def edit(owner: uuid.UUID) -> httpx.Response:
        return await client.patch(
            url, headers=world.team.sales.headers, json={"owner_id": str(owner), "version": 1}
        )

    answer = _invalid(await edit(world.stranger.user_id), "owner_id")
    assert _invalid(await edit(uuid.uuid4()), "owner_id") == answer
    assert await _state(owner_conn, *tenants) == before


async def test_completing_another_organizations_activity_is_404(
    client: httpx.AsyncClient, world: World, owner_conn: asyncpg.Connection
) -> None:
    tenants = (world.team.admin.tenant_id, world.stranger.tenant_id)
    before = await _state(owner_conn, *tenants)
    body = {
        "version": 1,
        "outcome": "Nope",
        "next": {"type": "call", "subject": "Nope", "due_at": DUE},
    }
    for activity_id in (world.activity["id"], str(uuid.uuid4())):
        refused = await client.post(
            f"{API}/{activity_id}/complete", headers=world.stranger.headers, json=body
        )
        assert refused.status_code == 404, refused.text
        assert refused.json()["type"].endswith("/not-found")
    assert await _state(owner_conn, *tenants) == before


async def test_a_follow_up_for_another_organizations_member_writes_nothing(
    client: httpx.AsyncClient, world: World, owner_conn: asyncpg.Connection
) -> None:
    """`next` names no record of its own (it takes the completed activity's); its
    `owner_id` from another organization is 422 like a made-up one, and the activity,
    its deal and the follow-up are all left unwritten."""
    tenants = (world.team.admin.tenant_id, world.stranger.tenant_id)
    before = await _state(owner_conn, *tenants)

    async def complete(owner: uuid.UUID) -> httpx.Response:
        return await client.post(
            f"{API}/{world.activity['id']}/complete",
            headers=world.team.sales.headers,
            json={
                "version": 1,
                "outcome": "Done",
                "next": {"type": "call", "subject": "Again", "due_at": DUE, "owner_id": str(owner)},
            },
        )

    answer = _invalid(await complete(world.stranger.user_id), "next.owner_id")
    assert _invalid(await complete(uuid.uuid4()), "next.owner_id") == answer
    assert await _state(owner_conn, *tenants) == before
    # The same request with an owner of this organization goes through.
    done = await complete(world.team.admin.user_id)
    assert done.status_code == 200, done.text
    assert done.json()["follow_up"]["deal_id"] == str(world.deal)
