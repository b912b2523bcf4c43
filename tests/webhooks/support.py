"""Endpoints and events for the webhook tests."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from baton.webhooks.events import emit
from tests.factories import Member
from tests.jobs.support import unit_of_work


async def add_endpoint(
    client: httpx.AsyncClient, admin: Member, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    answer = await client.post(
        "/api/v1/webhooks",
        headers=admin.headers,
        json={"url": url, "events": events or ["*"], "description": "test receiver"},
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def emit_one(
    database: Database,
    settings: Settings,
    member: Member,
    type: str = "import.completed",
    data: dict[str, Any] | None = None,
) -> uuid.UUID:
    """An event committed in a unit of work of `member` (with its data, so no record
    needs to exist)."""
    async with unit_of_work(database, settings, member) as ctx:
        return await emit(ctx, type, None, data if data is not None else {"rows": 3})


async def deliveries_of(owner_conn: asyncpg.Connection, endpoint_id: str) -> list[asyncpg.Record]:
    return await owner_conn.fetch(
        "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id",
        uuid.UUID(endpoint_id),
    )


async def make_due(owner_conn: asyncpg.Connection, endpoint_id: str) -> None:
    """Time passes: every waiting delivery of the endpoint is due now."""
    await owner_conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second'"
        " WHERE endpoint_id = $1 AND status IN ('pending', 'delivering')",
        uuid.UUID(endpoint_id),
    )
