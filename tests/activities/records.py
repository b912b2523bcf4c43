"""Sales records for activity tests, written straight to the database as its owner.

Accounts, contacts and deals have their own API (built separately); inserting the
rows directly keeps these tests about activities only. A deal starts at the Sales
pipeline's initial step, as the governance trigger demands, with its next step set.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx

from baton.core.ids import uuid7
from tests.factories import Member, add_member, register_tenant

API = "/api/v1/activities"


@dataclass(frozen=True)
class Org:
    admin: Member
    sales: Member
    viewer: Member


async def org(client: httpx.AsyncClient) -> Org:
    admin = await register_tenant(client)
    return Org(
        admin, await add_member(client, admin, "sales"), await add_member(client, admin, "viewer")
    )


async def account(conn: asyncpg.Connection, member: Member, name: str = "Acme") -> uuid.UUID:
    account_id = uuid7()
    await conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, owner_id) VALUES ($1, $2, $3, $4)",
        member.tenant_id,
        account_id,
        name,
        member.user_id,
    )
    return account_id


async def contact(conn: asyncpg.Connection, member: Member, account_id: uuid.UUID) -> uuid.UUID:
    contact_id = uuid7()
    await conn.execute(
        "INSERT INTO contacts (tenant_id, id, account_id, first_name) VALUES ($1, $2, $3, 'Bob')",
        member.tenant_id,
        contact_id,
        account_id,
    )
    return contact_id


async def deal(
    conn: asyncpg.Connection, member: Member, account_id: uuid.UUID, rank: str = "m"
) -> uuid.UUID:
    """An open deal at the Sales pipeline's initial step, next step "Intro call" next week."""
    flow = await conn.fetchrow(
        "SELECT w.id AS workflow_id, s.id AS step_id FROM workflows w"
        " JOIN workflow_steps s ON s.tenant_id = w.tenant_id AND s.workflow_id = w.id"
        " WHERE w.tenant_id = $1 AND w.name = 'Sales pipeline' AND w.published AND s.is_initial",
        member.tenant_id,
    )
    assert flow is not None
    deal_id = uuid7()
    await conn.execute(
        "INSERT INTO deals (tenant_id, id, name, account_id, owner_id, currency, next_step,"
        " next_step_due_date, workflow_id, step_id, entered_step_at, rank)"
        " VALUES ($1, $2, 'Big deal', $3, $4, 'EUR', 'Intro call', $5, $6, $7, now(), $8)",
        member.tenant_id,
        deal_id,
        account_id,
        member.user_id,
        datetime.now(UTC).date() + timedelta(days=7),
        flow["workflow_id"],
        flow["step_id"],
        rank,
    )
    return deal_id


async def soft_delete(conn: asyncpg.Connection, table: str, record_id: uuid.UUID) -> None:
    await conn.execute(
        f"UPDATE {table} SET deleted_at = now(), deletion_id = $2 WHERE id = $1",
        record_id,
        uuid7(),
    )


async def deal_row(conn: asyncpg.Connection, deal_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT next_step, next_step_due_date, version FROM deals WHERE id = $1", deal_id
    )
    assert row is not None
    return row


def at(offset: timedelta) -> str:
    return (datetime.now(UTC) + offset).isoformat()


def start_of_today() -> datetime:
    return datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)


async def plan(
    client: httpx.AsyncClient,
    member: Member,
    *,
    subject: str = "Call Bob",
    due: timedelta | datetime = timedelta(days=1),
    type: str = "call",
    **extra: Any,
) -> dict[str, Any]:
    due_at = due.isoformat() if isinstance(due, datetime) else at(due)
    response = await client.post(
        API,
        headers=member.headers,
        json={"type": type, "subject": subject, "due_at": due_at, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]
