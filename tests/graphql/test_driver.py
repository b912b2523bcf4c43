"""A document of one `moveDeal` runs on the driver's connection as the REST move does
(`baton.core.driver_transaction`): authentication, load and the move in one transaction,
nothing through SQLAlchemy's session. What needs the session after all (a link in the
answer, a rebalance) runs again in the session's transaction, written once."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import orjson

from baton.db.engine import Database
from baton.graphql.api import runs_on_driver
from tests.deals.conftest import Org, squeeze
from tests.deals.test_driver_transaction import _budget_hits
from tests.graphql.support import codes, gql
from tests.graphql.test_mutations import MOVE, move_input
from tests.identity.test_statement_counts import counted

MOVE_WITH_LINKS = """
mutation Move($input: MoveDealInput!) {
  moveDeal(input: $input) { deal { id version step { key } account { name } owner { fullName } } }
}
"""


async def _history(owner_conn: asyncpg.Connection, deal: dict[str, object]) -> int:
    found = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1", uuid.UUID(str(deal["id"]))
    )
    return int(found)


async def test_a_move_runs_on_the_driver(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    deal = await org.create(client)
    with counted(database) as sent:
        body = await gql(client, org.sales, MOVE, move_input(org, deal, "discovery"))
    assert "errors" not in body, body
    assert body["data"]["moveDeal"]["deal"]["step"]["key"] == "discovery"
    # Authentication, load, move: one transaction on the driver, as REST's move.
    assert len(sent) == 3, sent
    assert (await org.get(client, deal))["step"]["key"] == "discovery"


async def test_a_move_answering_links_runs_again_in_a_transaction_written_once(
    client: httpx.AsyncClient, org: Org, database: Database, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    before = await _budget_hits(owner_conn, org.sales)
    with counted(database) as sent:
        body = await gql(client, org.sales, MOVE_WITH_LINKS, move_input(org, deal, "discovery"))
    assert "errors" not in body, body
    moved = body["data"]["moveDeal"]["deal"]
    assert moved["version"] == deal["version"] + 1
    assert moved["account"]["name"].startswith("Acme")
    assert moved["owner"]["fullName"]
    # The attempt (authentication, load, the move rolled back as the account was
    # asked for), then the session's run with the loaders' statements.
    assert len(sent) > 6, sent
    assert await _history(owner_conn, deal) == 2  # created, moved once
    assert await _budget_hits(owner_conn, org.sales) == before + 1


async def test_a_move_that_needs_a_rebalance_runs_again_in_a_transaction(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    first, second, dropped = [await org.create(client) for _ in range(3)]
    await squeeze(owner_conn, first, second)
    body = await gql(
        client, org.sales, MOVE, move_input(org, dropped, "prospecting", afterId=first["id"])
    )
    assert "errors" not in body, body
    assert body["data"]["moveDeal"]["deal"]["version"] == dropped["version"] + 1
    column = await owner_conn.fetch(
        "SELECT id FROM deals WHERE tenant_id = $1 AND step_id = $2 AND deleted_at IS NULL"
        " ORDER BY rank",
        org.sales.tenant_id,
        org.steps["prospecting"],
    )
    assert [str(row["id"]) for row in column] == [first["id"], dropped["id"], second["id"]]


async def test_a_refused_move_on_the_driver_writes_nothing(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    stale = await gql(client, org.sales, MOVE, move_input(org, {**deal, "version": 7}, "discovery"))
    assert (stale["data"], codes(stale)) == ({"moveDeal": None}, ["STALE_VERSION"])
    assert await _history(owner_conn, deal) == 1
    assert (await org.get(client, deal))["version"] == deal["version"]


def test_only_a_document_of_one_move_runs_on_the_driver() -> None:
    def body(query: str, operation: str | None = None) -> bytes:
        return orjson.dumps({"query": query, "operationName": operation})

    move = "mutation M($i: MoveDealInput!) { moveDeal(input: $i) { deal { id } } }"
    assert runs_on_driver(body(move))
    assert runs_on_driver(body(move + " query Q { me { id } }", "M"))
    assert not runs_on_driver(body(move + " query Q { me { id } }", "Q"))
    assert not runs_on_driver(body(move + " query Q { me { id } }"))  # which one?
    assert not runs_on_driver(body("{ deals { edges { node { id } } } }"))
    two = "mutation($a: MoveDealInput!, $b: MoveDealInput!) { a: moveDeal(input: $a) { dryRun } b: moveDeal(input: $b) { dryRun } }"
    assert not runs_on_driver(body(two))
    closing = "mutation($i: CloseDealInput!) { closeDeal(input: $i) { deal { id } } }"
    assert not runs_on_driver(body(closing))
    skipped = "mutation($i: MoveDealInput!) { moveDeal(input: $i) @skip(if: true) { dryRun } }"
    assert not runs_on_driver(body(skipped))
    assert not runs_on_driver(b"not json")
    assert not runs_on_driver(b"[]")
    assert not runs_on_driver(body("mutation { moveDeal("))
