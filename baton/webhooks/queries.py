"""Read models of the Webhooks page and API: one statement each."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.webhooks.models import OutboxEvent, WebhookDelivery, WebhookEndpoint

ENDPOINTS: Table = WebhookEndpoint.__table__  # type: ignore[assignment]
DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[assignment]
EVENTS: Table = OutboxEvent.__table__  # type: ignore[assignment]

_DELIVERY_COLUMNS = (
    DELIVERIES.c.id,
    DELIVERIES.c.endpoint_id,
    DELIVERIES.c.event_id,
    EVENTS.c.type.label("event_type"),
    DELIVERIES.c.status,
    DELIVERIES.c.attempts,
    DELIVERIES.c.next_attempt_at,
    DELIVERIES.c.last_attempt_at,
    DELIVERIES.c.response_status,
    DELIVERIES.c.latency_ms,
    DELIVERIES.c.response_excerpt,
    DELIVERIES.c.error,
    DELIVERIES.c.delivered_at,
    DELIVERIES.c.created_at,
)
_JOINED = DELIVERIES.join(
    EVENTS, (EVENTS.c.tenant_id == DELIVERIES.c.tenant_id) & (EVENTS.c.id == DELIVERIES.c.event_id)
)


async def list_endpoints(session: AsyncSession) -> list[Any]:
    return list((await session.execute(select(ENDPOINTS).order_by(ENDPOINTS.c.id))).all())


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID, *, lock: bool = False) -> Any:
    statement = select(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).first()


async def list_deliveries(
    session: AsyncSession, endpoint_id: uuid.UUID | None, *, before: uuid.UUID | None, limit: int
) -> list[Any]:
    """Newest first; one more than `limit` tells there is a next page."""
    statement = select(*_DELIVERY_COLUMNS).select_from(_JOINED)
    if endpoint_id is not None:
        statement = statement.where(DELIVERIES.c.endpoint_id == endpoint_id)
    if before is not None:
        statement = statement.where(DELIVERIES.c.id < before)
    statement = statement.order_by(DELIVERIES.c.id.desc()).limit(limit + 1)
    return list((await session.execute(statement)).all())


async def get_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> Any:
    return (
        await session.execute(
            select(*_DELIVERY_COLUMNS).select_from(_JOINED).where(DELIVERIES.c.id == delivery_id)
        )
    ).first()
