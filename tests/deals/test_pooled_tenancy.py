"""Two tenants' requests interleaved over a transaction-mode pooler with ONE server
connection: every transaction of every client takes its turn on the same PostgreSQL
session, so any setting that outlived its statement or transaction would reach the
other tenant's next one. Neither tenant ever sees (or moves) the other's rows."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import owner_url
from tests.conftest import make_settings, random_address
from tests.deals.conftest import Org, insert_account, pipeline_steps
from tests.factories import add_member, register_tenant
from tests.pooler import INSTALL_HINT, pgbouncer_binary, running_pgbouncer

DEALS_EACH = 6
ROUNDS = ("discovery", "prospecting", "discovery", "prospecting")


@pytest.fixture
async def pooled_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the app role's connections through a PgBouncer of one server
    connection (`pool_mode = transaction`), flagged `?pooler=transaction`."""
    if pgbouncer_binary() is None:
        message = f"pgbouncer is not installed ({INSTALL_HINT})"
        if "CI" in os.environ:
            pytest.fail(message)
        pytest.skip(message)
    with running_pgbouncer(pool_size=1, users=(settings.app_db_role,)) as pooler:
        url = pooler.url(owner_url(settings), username=settings.app_db_role)
        pooled = make_settings(settings, app_database_url=url.render_as_string())
        database = Database(url, pool_size=5, max_overflow=10)
        assert database.pooled, url
        transport = httpx.ASGITransport(
            app=create_app(pooled, database),
            client=(random_address(), 40000),
            raise_app_exceptions=False,
        )
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield http
        finally:
            await database.dispose()


async def _org(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> Org:
    admin = await register_tenant(client)
    return Org(
        admin=admin,
        sales=await add_member(client, admin, "sales"),
        account_id=await insert_account(owner_conn, admin),
        steps=await pipeline_steps(owner_conn, admin),
    )


async def test_two_tenants_interleaved_over_one_pooled_connection_never_see_each_other(
    client: httpx.AsyncClient, pooled_client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    # Set up directly; only the interleaved requests go through the pooler.
    orgs = [await _org(client, owner_conn), await _org(client, owner_conn)]
    deals = {id(org): [await org.create(client) for _ in range(DEALS_EACH)] for org in orgs}
    owned = {id(org): {deal["id"] for deal in deals[id(org)]} for org in orgs}
    # One move each first: the pooled app compiles (and caches) each tenant's
    # workflow in a transaction; after it, moves take the one-statement way.
    for org in orgs:
        first = deals[id(org)][0]
        warmed = await org.move(pooled_client, first, "discovery")
        assert warmed.status_code == 200, warmed.text
        deals[id(org)][0] = warmed.json()["deal"]
        back = await org.move(pooled_client, deals[id(org)][0], "prospecting")
        assert back.status_code == 200, back.text
        deals[id(org)][0] = back.json()["deal"]

    wrong: list[str] = []

    async def own_move(org: Org, index: int, to: str) -> None:
        deal = deals[id(org)][index]
        answer = await org.move(pooled_client, deal, to)
        body = answer.json()
        if answer.status_code != 200 or body["deal"]["id"] != deal["id"]:
            wrong.append(f"own move {answer.status_code}: {answer.text[:200]}")
            return
        if body["deal"]["step"]["id"] != str(org.steps[to]):
            wrong.append(f"own move landed on {body['deal']['step']}, not {to}")
        deals[id(org)][index] = body["deal"]

    async def cross_move(org: Org, other: Org, index: int, to: str) -> None:
        # The other tenant's deal, at its current version: an attacker who knows both.
        target = deals[id(other)][index]
        answer = await org.move(pooled_client, target, to)
        if answer.status_code != 404:
            wrong.append(f"moved the other tenant's deal: {answer.status_code} {answer.text[:200]}")

    async def listing(org: Org) -> None:
        answer = await pooled_client.get(
            "/api/v1/deals", headers=org.sales.headers, params={"limit": 100}
        )
        if answer.status_code != 200:
            wrong.append(f"list {answer.status_code}: {answer.text[:200]}")
            return
        seen = {item["id"] for item in answer.json()["items"]}
        if seen != owned[id(org)]:
            wrong.append(f"list saw {len(seen - owned[id(org)])} foreign deals, missed own ones")

    async def reads(org: Org, other: Org, index: int) -> None:
        mine = await pooled_client.get(
            f"/api/v1/deals/{deals[id(org)][index]['id']}", headers=org.sales.headers
        )
        if mine.status_code != 200:
            wrong.append(f"own read {mine.status_code}")
        theirs = await pooled_client.get(
            f"/api/v1/deals/{deals[id(other)][index]['id']}", headers=org.sales.headers
        )
        if theirs.status_code != 404:
            wrong.append(f"read the other tenant's deal: {theirs.status_code}")

    shuffle = random.Random(uuid.uuid4().int)
    for to in ROUNDS:
        calls: list[Any] = []
        for org, other in ((orgs[0], orgs[1]), (orgs[1], orgs[0])):
            for index in range(DEALS_EACH):
                calls.append(own_move(org, index, to))
                calls.append(cross_move(org, other, index, to))
            calls.extend([listing(org), reads(org, other, 0), reads(org, other, 1)])
        shuffle.shuffle(calls)
        # Own moves and cross moves of the same deal race each other only for the
        # version, and a cross move never wins: each own move must succeed.
        await asyncio.gather(*calls)
        assert not wrong, wrong

    # Every step change of each tenant's deals was made by its own member, in its
    # own tenant: nothing was written with the other's settings.
    for org in orgs:
        actors = await owner_conn.fetch(
            "SELECT DISTINCT tenant_id, actor_id FROM workflow_history"
            " WHERE record_id = ANY($1::uuid[]) AND from_step_id IS NOT NULL",
            [uuid.UUID(deal_id) for deal_id in owned[id(org)]],
        )
        assert [(row["tenant_id"], row["actor_id"]) for row in actors] == [
            (org.sales.tenant_id, org.sales.user_id)
        ]
        moved = await owner_conn.fetchval(
            "SELECT count(*) FROM workflow_history WHERE record_id = ANY($1::uuid[])"
            " AND from_step_id IS NOT NULL",
            [uuid.UUID(deal_id) for deal_id in owned[id(org)]],
        )
        assert moved == 2 + DEALS_EACH * len(ROUNDS)
