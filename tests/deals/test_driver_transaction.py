"""A deal move sent with a token runs on the driver's connection, without SQLAlchemy's
session (`baton.core.driver_transaction`): authentication, load and one writing statement in
one transaction. What it needs besides runs again in the session's transaction,
having written nothing; nothing of one request stays on its connection for the next."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from baton.db.engine import Database
from baton.identity import credentials
from tests.deals.conftest import Org, squeeze
from tests.factories import Member, add_member
from tests.identity.test_statement_counts import counted

_SETTINGS = (
    "baton.tenant_id",
    "baton.user_id",
    "baton.role",
    "baton.request_id",
    "baton.transition_reason",
    "baton.transition_notes",
    "baton.transition_fields",
)


async def _settings(conn: asyncpg.Connection) -> dict[str, str]:
    row = await conn.fetchrow(
        "SELECT " + ", ".join(f"current_setting('{name}', true)" for name in _SETTINGS)
    )
    assert row is not None
    return dict(zip(_SETTINGS, row, strict=True))


async def test_a_move_leaves_nothing_on_its_connection(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    deal = await org.create(client)
    moved = await org.move(client, deal, "discovery")
    assert moved.status_code == 200, moved.text
    refused = await org.move(client, {**deal, "id": str(uuid.uuid4())}, "proposal")
    assert refused.status_code == 404
    # Every connection of the pool, as the next request finds it: no tenant, actor,
    # role, request or transition (all were transaction-local), no open transaction.
    pool = await database.driver_transaction_pool()
    held = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        for conn in held:
            assert not conn.is_in_transaction()
            assert set((await _settings(conn)).values()) <= {"", None}
    finally:
        for conn in held:
            await pool.release(conn)


async def test_a_driver_transaction_request_has_no_session(database: Database) -> None:
    async with database.refusing_sessions() as session:
        with pytest.raises(RuntimeError, match="no session"):
            await session.execute(text("SELECT 1"))


async def _budget_hits(owner_conn: asyncpg.Connection, member: Member) -> int:
    parsed = credentials.parse(member.token)
    assert parsed is not None
    hits = await owner_conn.fetchval(
        "SELECT hits FROM rate_limit_buckets WHERE key = $1", f"api:{parsed.digest.hex()[:32]}"
    )
    return int(hits or 0)


async def test_a_move_that_needs_a_rebalance_runs_again_in_a_transaction_counted_once(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, database: Database
) -> None:
    first, second, dropped = [await org.create(client) for _ in range(3)]
    await squeeze(owner_conn, first, second)
    before = await _budget_hits(owner_conn, org.sales)
    with counted(database) as sent:
        moved = await org.move(client, dropped, "prospecting", after_id=first["id"])
    assert moved.status_code == 200, moved.text
    assert moved.json()["deal"]["version"] == 2
    # The attempt: authentication and load, no write; then the transaction: the same
    # two, the column's lock, its cards and their new ranks, the move.
    assert len(sent) == 2 + 6
    assert await _budget_hits(owner_conn, org.sales) == before + 1
    column = await owner_conn.fetch(
        "SELECT id FROM deals WHERE tenant_id = $1 AND step_id = $2 AND deleted_at IS NULL"
        " ORDER BY rank",
        org.sales.tenant_id,
        org.steps["prospecting"],
    )
    assert [str(row["id"]) for row in column] == [first["id"], dropped["id"], second["id"]]
    history = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1", uuid.UUID(dropped["id"])
    )
    assert history == 1  # created; a reorder in its own column writes no history


async def test_a_move_with_an_idempotency_key_runs_in_a_transaction_and_replays(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    deal = await org.create(client)
    with counted(database) as sent:
        first = await org.move(client, deal, "discovery", idempotency_key="move-once")
    again = await org.move(client, deal, "discovery", idempotency_key="move-once")
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    # Authentication, the key's lock, lookup and store, load, move.
    assert len(sent) == 6


async def test_every_driver_transaction_request_answers_as_usual_and_returns_its_connection(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    viewer = await add_member(client, org.admin, "viewer")
    deal = await org.create(client)
    forged = f"bat_{org.sales.tenant_id.hex}_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    answers = [
        await org.move(client, deal, "discovery"),
        await org.move(client, deal, "proposal"),  # the old version
        await org.move(client, deal, "proposal", member=viewer),
        await org.move(client, {**deal, "id": str(uuid.uuid4())}, "proposal"),
        await client.post(
            f"/api/v1/deals/{deal['id']}/move",
            headers={"Authorization": f"Bearer {forged}"},
            json={"to_step_id": str(org.steps["proposal"]), "version": 2},
        ),
        await client.post(  # no version
            f"/api/v1/deals/{deal['id']}/move",
            headers=org.sales.headers,
            json={"to_step_id": str(org.steps["proposal"])},
        ),
    ]
    assert [answer.status_code for answer in answers] == [200, 409, 403, 404, 401, 422]
    pool = await database.driver_transaction_pool()
    assert pool.get_size() >= 1
    assert pool.get_idle_size() == pool.get_size()
