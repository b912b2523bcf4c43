"""Test data for accounts: accounts and contacts through the API; deals and activities
as raw SQL through the owner connection (their APIs are other domains')."""

from __future__ import annotations

import uuid
from collections.abc import Coroutine, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from baton.core.ids import uuid7
from tests.factories import Member


def today() -> date:
    """The day the `account_statuses` view counts from (UTC)."""
    return datetime.now(UTC).date()


async def create_account(
    client: httpx.AsyncClient, member: Member, **fields: Any
) -> dict[str, Any]:
    body = {"name": f"Acme {uuid.uuid4().hex[:8]}", **fields}
    response = await client.post("/api/v1/accounts", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    account: dict[str, Any] = response.json()
    return account


async def create_contact(
    client: httpx.AsyncClient, member: Member, account_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"account_id": account_id, "first_name": "Grace", **fields}
    response = await client.post("/api/v1/contacts", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    contact: dict[str, Any] = response.json()
    return contact


async def add_transaction(
    client: httpx.AsyncClient, member: Member, account_id: str, days_ago: int, **fields: Any
) -> dict[str, Any]:
    body = {
        "occurred_on": (today() - timedelta(days=days_ago)).isoformat(),
        "amount": "100.00",
        "currency": "EUR",
        **fields,
    }
    response = await client.post(
        f"/api/v1/accounts/{account_id}/transactions", headers=member.headers, json=body
    )
    assert response.status_code == 201, response.text
    line: dict[str, Any] = response.json()
    return line


async def pipeline_steps(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, Any]:
    rows = await conn.fetch(
        "SELECT s.key, s.id, s.workflow_id FROM workflow_steps s JOIN workflows w"
        " ON w.tenant_id = s.tenant_id AND w.id = s.workflow_id"
        " WHERE s.tenant_id = $1 AND w.name = 'Sales pipeline' AND w.published",
        tenant_id,
    )
    return {"workflow_id": rows[0]["workflow_id"], **{r["key"]: r["id"] for r in rows}}


async def insert_deal(
    conn: asyncpg.Connection,
    member: Member,
    account_id: str | uuid.UUID,
    *,
    outcome: str | None = None,
    closed_days_ago: int = 0,
    contact_id: str | uuid.UUID | None = None,
    name: str = "Big deal",
) -> uuid.UUID:
    """A deal started at the pipeline's initial step, then moved along its transitions
    (the `govern_step` trigger allows nothing else) to won or lost when asked."""
    steps = await pipeline_steps(conn, member.tenant_id)
    deal_id = uuid7()
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO deals (tenant_id, id, name, account_id, contact_id, owner_id, amount,"
            " currency, next_step, next_step_due_date, workflow_id, step_id, entered_step_at,"
            " rank) VALUES ($1, $2, $3, $4, $5, $6, 1000, 'EUR', 'Call back', current_date,"
            " $7, $8, now(), $9)",
            member.tenant_id,
            deal_id,
            name,
            uuid.UUID(str(account_id)),
            uuid.UUID(str(contact_id)) if contact_id else None,
            member.user_id,
            steps["workflow_id"],
            steps["prospecting"],
            uuid.uuid4().hex,
        )
        path = {"won": ["discovery", "proposal", "negotiation"], "lost": []}.get(outcome or "", [])
        for key in path:
            await conn.execute("UPDATE deals SET step_id = $2 WHERE id = $1", deal_id, steps[key])
        if outcome is not None:
            reason_column = "win_reason" if outcome == "won" else "loss_reason"
            await conn.execute("SELECT set_config('baton.transition_reason', 'price', true)")
            await conn.execute(
                f"UPDATE deals SET step_id = $2, outcome = $3, {reason_column} = 'price',"
                " closed_at = now() - make_interval(days => $4) WHERE id = $1",
                deal_id,
                steps[outcome],
                outcome,
                closed_days_ago,
            )
    return deal_id


async def insert_activity(
    conn: asyncpg.Connection,
    member: Member,
    *,
    status: str = "planned",
    subject: str = "Call",
    account_id: str | uuid.UUID | None = None,
    contact_id: str | uuid.UUID | None = None,
    deal_id: str | uuid.UUID | None = None,
) -> uuid.UUID:
    activity_id = uuid7()

    def as_uuid(value: str | uuid.UUID | None) -> uuid.UUID | None:
        return uuid.UUID(str(value)) if value else None

    await conn.execute(
        "INSERT INTO activities (tenant_id, id, type, status, subject, due_at, completed_at,"
        " owner_id, account_id, contact_id, deal_id) VALUES ($1, $2, 'call', $3::text, $4,"
        " now() + interval '1 day', CASE WHEN $3::text = 'done' THEN now() END, $5, $6, $7, $8)",
        member.tenant_id,
        activity_id,
        status,
        subject,
        member.user_id,
        as_uuid(account_id),
        as_uuid(contact_id),
        as_uuid(deal_id),
    )
    return activity_id


async def state(conn: asyncpg.Connection, table: str, record_id: uuid.UUID | str) -> Any:
    """(deleted?, deletion_id) of one row, read as the owner."""
    row = await conn.fetchrow(
        f"SELECT deleted_at IS NOT NULL AS deleted, deletion_id FROM {table} WHERE id = $1",
        uuid.UUID(str(record_id)),
    )
    assert row is not None
    return row


async def deletion_id_of(
    conn: asyncpg.Connection, table: str, record_id: uuid.UUID | str
) -> uuid.UUID | None:
    """The deletion id one row carries (None: live), read as the owner."""
    deletion_id: uuid.UUID | None = await conn.fetchval(
        f"SELECT deletion_id FROM {table} WHERE id = $1", uuid.UUID(str(record_id))
    )
    return deletion_id


async def row_images(
    conn: asyncpg.Connection, table: str, ids: Sequence[uuid.UUID | str]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Rows of `table` by id, read as the owner: each whole but for the two columns
    every write changes (version, updated_at), and each version apart."""
    found = await conn.fetch(
        f"SELECT id::text, version, to_jsonb(t) - 'version' - 'updated_at' AS image"
        f" FROM {table} t WHERE id = ANY($1::uuid[])",
        [uuid.UUID(str(i)) for i in ids],
    )
    assert len(found) == len(ids), table
    return {r["id"]: r["image"] for r in found}, {r["id"]: r["version"] for r in found}


async def soft_delete(
    client: httpx.AsyncClient, member: Member, collection: str, record: dict[str, Any]
) -> None:
    """DELETE /api/v1/{collection}/{id} at the record's version (204 expected)."""
    response = await client.delete(
        f"/api/v1/{collection}/{record['id']}",
        headers=member.headers,
        params={"version": record["version"]},
    )
    assert response.status_code == 204, response.text


def restore_request(
    client: httpx.AsyncClient, member: Member, collection: str, record_id: str, **params: Any
) -> Coroutine[Any, Any, httpx.Response]:
    """POST /api/v1/{collection}/{id}/restore; `headers` join the member's, the rest
    is the query."""
    headers = {**member.headers, **params.pop("headers", {})}
    return client.post(f"/api/v1/{collection}/{record_id}/restore", headers=headers, params=params)
