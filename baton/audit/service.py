"""Security events: rows in the same audit log as data changes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from baton.audit.models import SecurityEvent
from baton.core.context import Ctx
from baton.db.engine import set_transaction_context

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
    `survive_rollback=True`: they are written in their own short transaction,
    because the request that triggered them is about to be rolled back.
    """
    values = {
        "tenant_id": tenant_id or ctx.current_tenant_id,
        "event": event.value,
        "details": json.dumps(details or {}),
        "actor_user_id": actor_user_id or ctx.actor_id,
        "request_id": ctx.request_id,
        "client_address": ctx.client_address,
    }
    if not survive_rollback:
        await ctx.session.execute(_INSERT_EVENT, values)
        return
    async with ctx.db.sessions() as session, session.begin():
        await _insert_in_tenant(session, values)


async def _insert_in_tenant(session: AsyncSession, values: dict[str, Any]) -> None:
    await set_transaction_context(
        session,
        tenant_id=values["tenant_id"],
        user_id=values["actor_user_id"],
        request_id=values["request_id"],
    )
    await session.execute(_INSERT_EVENT, values)
