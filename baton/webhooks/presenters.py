"""The `data` of an event whose emitter left it out: its record as the REST API shows
it, read by the dispatcher through the API's own read handlers (one shape, one place).

The dispatcher reads as the organization (role admin, which sees every record, as the
sweeps do), under RLS. A record gone by then (deleted, purged) is sent as `{id}`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pydantic import BaseModel

from baton.core.context import AuthMethod, Ctx, Principal
from baton.core.errors import NotFound
from baton.identity.models import Role

log = structlog.get_logger("baton.webhooks")

Reader = Callable[[uuid.UUID, Ctx], Awaitable[BaseModel]]


def _readers() -> dict[str, Reader]:
    # Imported here: the domains' services import `events` (to emit), so the API
    # modules cannot be imported while `baton.webhooks` is.
    from baton.accounts.api import get_account
    from baton.activities.api import get_activity
    from baton.imports.api import get_import
    from baton.leads.api import get_lead
    from baton.targets.api import get_target

    async def get_deal(deal_id: uuid.UUID, ctx: Ctx) -> BaseModel:
        from baton.deals.api import get_deal as read

        return await read(deal_id, ctx)

    return {
        "deal": get_deal,
        "lead": get_lead,
        "target": get_target,
        "account": get_account,
        "activity": get_activity,
        "import": get_import,
    }


def dispatcher_principal(tenant_id: uuid.UUID) -> Principal:
    """Who reads the records: the organization itself, with an admin's sight."""
    nobody = uuid.UUID(int=0)
    return Principal(
        tenant_id=tenant_id,
        tenant_slug="",
        tenant_name="",
        user_id=nobody,
        email="",
        full_name="Baton",
        membership_id=nobody,
        role=Role.ADMIN.value,
        method=AuthMethod.CLI,
        credential_id=None,
    )


async def present(ctx: Ctx, type: str, subject_id: uuid.UUID | None) -> dict[str, Any]:
    """The record an event of `type` is about, as `GET /api/v1/<records>/{id}` shows it."""
    if subject_id is None:
        return {}
    reader = _readers().get(type.split(".", 1)[0])
    if reader is None:
        return {"id": str(subject_id)}
    try:
        async with ctx.session.begin_nested():
            record = await reader(subject_id, ctx)
    except NotFound:
        return {"id": str(subject_id)}
    return record.model_dump(mode="json")
