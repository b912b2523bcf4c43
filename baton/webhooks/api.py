"""/api/v1/webhooks: endpoints, their delivery log, redeliver and ping (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from baton.core.auth import CtxDep, IfMatchDep, VersionQuery, get_principal
from baton.core.pagination import MAX_PAGE_SIZE
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version
from baton.webhooks import service
from baton.webhooks.schemas import (
    DeliveryOut,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EventTypesOut,
)

router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
    tags=["webhooks"],
)


def endpoint_out(row: Any) -> EndpointOut:
    """The endpoint without its secret (`EndpointOut` names what is shown)."""
    return EndpointOut.model_validate(
        {name: row._mapping[name] for name in EndpointOut.model_fields}
    )


def delivery_out(row: Any) -> DeliveryOut:
    return DeliveryOut.model_validate(row._mapping)


@router.get("/webhooks/event-types")
async def event_types(ctx: CtxDep) -> EventTypesOut:
    """The event types an endpoint may subscribe to (or `["*"]`: all)."""
    ctx.require_principal()
    return EventTypesOut(items=service.event_types())


@router.post("/webhooks", status_code=status.HTTP_201_CREATED)
async def create_endpoint(data: EndpointIn, ctx: CtxDep) -> EndpointCreated:
    """Register an endpoint; the answer holds its signing secret (`whsec_…`), shown
    this once. 422 names unknown event types and refused URLs."""
    row, secret = await service.create_endpoint(ctx, data)
    return EndpointCreated.model_validate({**endpoint_out(row).model_dump(), "secret": secret})


@router.get("/webhooks")
async def list_endpoints(ctx: CtxDep) -> Page[EndpointOut]:
    rows = await service.list_endpoints(ctx)
    return Page(items=[endpoint_out(row) for row in rows], next_cursor=None)


@router.get("/webhooks/{endpoint_id}")
async def get_endpoint(endpoint_id: uuid.UUID, ctx: CtxDep) -> EndpointOut:
    return endpoint_out(await service.get_endpoint(ctx, endpoint_id))


@router.patch("/webhooks/{endpoint_id}")
async def update_endpoint(
    endpoint_id: uuid.UUID, data: EndpointPatch, ctx: CtxDep, if_match: IfMatchDep
) -> EndpointOut:
    """Change URL, events, description or `enabled`; send the version (If-Match or body)."""
    version = expected_version(if_match, data.version)
    return endpoint_out(await service.update_endpoint(ctx, endpoint_id, data, version))


@router.delete("/webhooks/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_endpoint(
    endpoint_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep, version: VersionQuery = None
) -> None:
    """Remove the endpoint and its delivery log; send the version (If-Match or `?version=`)."""
    await service.delete_endpoint(ctx, endpoint_id, expected_version(if_match, version))


@router.get("/webhooks/{endpoint_id}/deliveries")
async def list_deliveries(
    endpoint_id: uuid.UUID,
    ctx: CtxDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: uuid.UUID | None = None,
) -> Page[DeliveryOut]:
    """The endpoint's deliveries, newest first: status, attempts, the last attempt's
    HTTP status, latency and response excerpt."""
    rows = await service.list_deliveries(ctx, endpoint_id, before=cursor, limit=limit)
    items = [delivery_out(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@router.post("/webhooks/{endpoint_id}/ping", status_code=status.HTTP_202_ACCEPTED)
async def ping(endpoint_id: uuid.UUID, ctx: CtxDep) -> DeliveryOut:
    """Queue a `webhook.ping` message to the endpoint; answers its delivery."""
    return delivery_out(await service.ping(ctx, endpoint_id))


@router.post("/webhook-deliveries/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED)
async def redeliver(delivery_id: uuid.UUID, ctx: CtxDep) -> DeliveryOut:
    """Send the delivery's event again (same `webhook-id`), as a new delivery."""
    return delivery_out(await service.redeliver(ctx, delivery_id))
