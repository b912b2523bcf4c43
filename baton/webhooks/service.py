"""Admins' actions on webhooks: endpoints, their delivery log, redeliver, ping.

Every function is for admins only (403 for other roles); another organization's
endpoint or delivery is 404 (RLS). Writes are in the caller's transaction; the worker
sends what they queue after the commit (`delivery.pump`).
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import delete, func, insert, update

from baton.core.context import Ctx
from baton.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from baton.core.ids import uuid7
from baton.core.versioning import check_version
from baton.identity.access import require_role
from baton.identity.models import Role
from baton.webhooks import egress, queries, signing
from baton.webhooks.events import ALL_EVENTS, EVENT_TYPES, PING
from baton.webhooks.queries import DELIVERIES, ENDPOINTS, EVENTS
from baton.webhooks.schemas import EndpointIn, EndpointPatch


def _check_url(ctx: Ctx, url: str) -> None:
    """422 for a URL the worker would never call: not http(s), no host, or a private
    address written as such (names are checked again, resolved, at every send)."""
    try:
        _, host, _ = egress.check_url(url)
        if not ctx.settings.webhook_allow_private:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                if host == "localhost" or host.endswith(".localhost"):
                    raise egress.Refused("localhost is not a public address") from None
            else:
                if not address.is_global:
                    raise egress.Refused(f"{address} is not a public address")
    except egress.Refused as refused:
        raise ValidationFailed(errors=[FieldError("url", str(refused))]) from refused


def _check_events(events: list[str]) -> list[str]:
    """The subscribed events, deduplicated in order; 422 naming any unknown one."""
    if ALL_EVENTS in events:
        if len(set(events)) > 1:
            raise ValidationFailed(errors=[FieldError("events", '"*" (every event) stands alone')])
        return [ALL_EVENTS]
    unknown = [name for name in dict.fromkeys(events) if name not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            f"Unknown event types: {', '.join(unknown)}",
            errors=[FieldError("events", f"unknown event type {name!r}") for name in unknown],
        )
    return list(dict.fromkeys(events))


async def _endpoint(ctx: Ctx, endpoint_id: uuid.UUID, *, lock: bool = False) -> Any:
    row = await queries.get_endpoint(ctx.session, endpoint_id, lock=lock)
    if row is None:
        raise NotFound("No such webhook endpoint")
    return row


async def create_endpoint(ctx: Ctx, data: EndpointIn) -> tuple[Any, str]:
    """Register an endpoint, enabled; answers it and its signing secret (which no
    later answer shows). 422: a URL that is not http(s) or names a private address
    (unless allowed), an unknown event type (each named)."""
    principal = require_role(ctx, Role.ADMIN)
    _check_url(ctx, data.url)
    events = _check_events(data.events)
    secret = signing.new_secret()
    endpoint_id = uuid7()
    await ctx.session.execute(
        insert(ENDPOINTS).values(
            tenant_id=principal.tenant_id,
            id=endpoint_id,
            url=data.url,
            events=events,
            description=data.description,
            secret=secret,
        )
    )
    return await _endpoint(ctx, endpoint_id), secret


async def list_endpoints(ctx: Ctx) -> list[Any]:
    require_role(ctx, Role.ADMIN)
    return await queries.list_endpoints(ctx.session)


async def get_endpoint(ctx: Ctx, endpoint_id: uuid.UUID) -> Any:
    require_role(ctx, Role.ADMIN)
    return await _endpoint(ctx, endpoint_id)


async def update_endpoint(
    ctx: Ctx, endpoint_id: uuid.UUID, data: EndpointPatch, expected: int | None
) -> Any:
    """Change the URL, events, description, or enable/disable it; the version must be
    current (409; 422 when none was sent). Enabling a disabled endpoint starts its
    failure clock over."""
    require_role(ctx, Role.ADMIN)
    current = await _endpoint(ctx, endpoint_id, lock=True)
    check_version(current.version, expected, "webhook endpoint")
    values: dict[str, Any] = {}
    if data.url is not None:
        _check_url(ctx, data.url)
        values["url"] = data.url
    if data.events is not None:
        values["events"] = _check_events(data.events)
    if data.description is not None:
        values["description"] = data.description
    if data.enabled is not None and data.enabled != current.enabled:
        values["enabled"] = data.enabled
        values["failing_since"] = None
        values["disabled_reason"] = None if data.enabled else "Disabled by an admin"
    if values:
        await ctx.session.execute(
            update(ENDPOINTS)
            .where(ENDPOINTS.c.id == endpoint_id)
            .values(**values, version=ENDPOINTS.c.version + 1, updated_at=func.now())
        )
    return await _endpoint(ctx, endpoint_id)


async def delete_endpoint(ctx: Ctx, endpoint_id: uuid.UUID, expected: int | None) -> None:
    """Remove an endpoint and its delivery log (version as for an update)."""
    require_role(ctx, Role.ADMIN)
    current = await _endpoint(ctx, endpoint_id, lock=True)
    check_version(current.version, expected, "webhook endpoint")
    await ctx.session.execute(delete(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id))


async def list_deliveries(
    ctx: Ctx, endpoint_id: uuid.UUID | None, *, before: uuid.UUID | None, limit: int
) -> list[Any]:
    """An endpoint's deliveries (or the organization's), newest first."""
    require_role(ctx, Role.ADMIN)
    if endpoint_id is not None:
        await _endpoint(ctx, endpoint_id)
    return await queries.list_deliveries(ctx.session, endpoint_id, before=before, limit=limit)


async def _queue(ctx: Ctx, endpoint_id: uuid.UUID, event_id: uuid.UUID) -> Any:
    delivery_id = uuid7()
    await ctx.session.execute(
        insert(DELIVERIES).values(
            tenant_id=ctx.current_tenant_id,
            id=delivery_id,
            endpoint_id=endpoint_id,
            event_id=event_id,
        )
    )
    delivery = await queries.get_delivery(ctx.session, delivery_id)
    assert delivery is not None
    return delivery


async def ping(ctx: Ctx, endpoint_id: uuid.UUID) -> Any:
    """Queue a `webhook.ping` message to the endpoint (due now); answers the delivery.
    409 when the endpoint is disabled (enable it first)."""
    principal = require_role(ctx, Role.ADMIN)
    endpoint = await _endpoint(ctx, endpoint_id)
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled: enable it, then ping it")
    event_id = uuid7()
    await ctx.session.execute(
        insert(EVENTS).values(
            tenant_id=principal.tenant_id,
            id=event_id,
            type=PING,
            subject_id=endpoint_id,
            data={"endpoint_id": str(endpoint_id), "message": "ping"},
            dispatched_at=func.now(),
        )
    )
    return await _queue(ctx, endpoint_id, event_id)


async def redeliver(ctx: Ctx, delivery_id: uuid.UUID) -> Any:
    """Send a delivery's event to its endpoint again, as a new delivery due now, with
    the same `webhook-id` (the event's). 404: no such delivery; 409: the endpoint is
    disabled."""
    require_role(ctx, Role.ADMIN)
    delivery = await queries.get_delivery(ctx.session, delivery_id)
    if delivery is None:
        raise NotFound("No such webhook delivery")
    endpoint = await _endpoint(ctx, delivery.endpoint_id)
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled: enable it, then redeliver")
    return await _queue(ctx, delivery.endpoint_id, delivery.event_id)


def event_types() -> list[str]:
    return list(EVENT_TYPES)
