"""Security events: rows in the same audit log as data changes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

from baton.audit.models import SecurityEvent
from baton.core.context import Ctx
from baton.db.engine import Database, set_transaction_context

# Plain SQL: an ORM/Core insert would RETURN or prefetch the identity id, which
# needs SELECT or sequence access; the app role may only INSERT into audit_log.
_INSERT_EVENT = text(
    "INSERT INTO audit_log (tenant_id, action, event, details, actor_user_id, request_id,"
    " client_address) VALUES (:tenant_id, 'security', :event, CAST(:details AS jsonb),"
    " :actor_user_id, :request_id, :client_address)"
)


async def record_security_event(
    ctx: Ctx,
    event: SecurityEvent,
    *,
    details: dict[str, Any] | None = None,
    tenant_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    survive_rollback: bool = False,
) -> None:
    """Append a security event for the current tenant and actor.

    Events about a refusal (failed login, permission denied, rate limit hit) pass
    `survive_rollback=True`: the request that triggered them is about to be rolled
    back, so they are written after it ends, in their own short transaction.
    """
    values = _values(ctx, event, details, tenant_id, actor_user_id)
    if survive_rollback:
        ctx.defer_durable(lambda: _write_alone(ctx.db, values))
    else:
        await ctx.session.execute(_INSERT_EVENT, values)


async def write_security_event_alone(
    ctx: Ctx,
    event: SecurityEvent,
    *,
    details: dict[str, Any] | None = None,
    actor_user_id: uuid.UUID | None = None,
) -> None:
    """Write an event now, in its own transaction (from a deferred durable action)."""
    await _write_alone(ctx.db, _values(ctx, event, details, None, actor_user_id))


def _values(
    ctx: Ctx,
    event: SecurityEvent,
    details: dict[str, Any] | None,
    tenant_id: uuid.UUID | None,
    actor_user_id: uuid.UUID | None,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id or ctx.current_tenant_id,
        "event": event.value,
        "details": json.dumps(details or {}),
        "actor_user_id": actor_user_id or ctx.actor_id,
        "request_id": ctx.request_id,
        "client_address": ctx.client_address,
    }


async def _write_alone(db: Database, values: dict[str, Any]) -> None:
    async with db.sessions() as session, session.begin():
        await set_transaction_context(
            session,
            tenant_id=values["tenant_id"],
            user_id=values["actor_user_id"],
            request_id=values["request_id"],
        )
        await session.execute(_INSERT_EVENT, values)
