"""The GraphQL board: 200 deals with account, owner and step in a constant number of
statements (the list's statement writes the nodes it can; data loaders: one statement
per kind of link for the rest)."""

from __future__ import annotations

import asyncpg
import httpx

from baton.db.engine import Database
from tests.deals.conftest import Org, insert_account
from tests.graphql.support import gql
from tests.graphql.test_queries import BOARD
from tests.identity.test_statement_counts import counted

# The board with each account's status: not written by the list's statement, loaded.
LOADED = BOARD.replace("account { id name }", "account { id name status }")


async def test_the_board_of_200_deals_is_at_most_six_statements(
    client: httpx.AsyncClient, org: Org, database: Database, owner_conn: asyncpg.Connection
) -> None:
    accounts = [org.account_id] + [await insert_account(owner_conn, org.admin) for _ in range(2)]
    owners = [org.sales.user_id, org.admin.user_id]

    async def board(first: int, query: str = BOARD) -> tuple[int, list[str]]:
        with counted(database) as statements:
            body = await gql(client, org.sales, query, {"first": first})
        assert "errors" not in body, body
        edges = body["data"]["deals"]["edges"]
        assert all(e["node"]["account"] and e["node"]["owner"] for e in edges)
        return len(edges), list(statements)

    for n in range(3):
        await org.create(client, account_id=str(accounts[n]), owner_id=str(owners[n % 2]))
    small, few = await board(200)
    small_loaded, few_loaded = await board(200, LOADED)
    for n in range(197):
        await org.create(client, account_id=str(accounts[n % 3]), owner_id=str(owners[n % 2]))
    large, many = await board(200)
    large_loaded, many_loaded = await board(200, LOADED)
    assert (small, large) == (small_loaded, large_loaded) == (3, 200)
    # authenticate, the page of deals written with their steps, accounts and owners
    assert len(many) == len(few) == 2, many
    # an account's status is not written: then the accounts in one statement more
    assert len(many_loaded) == len(few_loaded) == 3, many_loaded
    assert len(many_loaded) <= 6


async def test_workflows_with_steps_do_not_grow_with_their_number(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    query = "{ workflows { id name steps { id key } transitions { id } } }"

    async def measure() -> tuple[int, int]:
        with counted(database) as statements:
            body = await gql(client, org.admin, query)
        assert "errors" not in body, body
        return len(body["data"]["workflows"]), len(statements)

    shown, few = await measure()
    for n in range(3):
        made = await gql(
            client,
            org.admin,
            f'mutation {{ createWorkflow(input: {{name: "Flow {n}", entityType: WORK_ITEM}}) '
            "{ workflow { id } } }",
        )
        assert "errors" not in made, made
    more, many = await measure()
    assert more == shown + 3
    # authenticate, the workflows, then their steps, transitions and step categories
    assert few == many == 6, many
